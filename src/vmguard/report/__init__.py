"""Report writers: one module per output format behind one ``write(report, out)`` protocol."""
