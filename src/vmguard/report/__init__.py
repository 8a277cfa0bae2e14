"""Report writers: one module per output format, chosen in one table (``report.formats``).

Public API::

    write_reports(reports, fmt, out)            # scan, audit, host, inspect, vulns, ...
    write_fleet(posture, fmt, out)              # fleet report
    write_verification(verification, fmt, out)  # verify (``report.verification``)
    WRITERS[fmt]                                # the table: format -> writer per result kind
    OutputFormat                                # (``report.interface``)

A single report is written exactly as its format's writer writes it (the JSON and SARIF
contract). Every string from an image, a definition or a database passes through
``vmguard.text.printable`` before it reaches a terminal, a page or an XML document; markup
escaping (HTML, rich) stays with each writer. No writer prints a secret whole, a secret's
digest or a fingerprint.
"""
