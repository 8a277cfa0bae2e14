"""Facts about the guest operating system, read through a GuestView (never the host).

Public API::

    gather_guest_facts(view) -> GuestFacts       # inspect.py: OS, accounts, packages, services
    find_app_packages(fs) -> Gathered            # apps/: pypi, npm, maven... packages
    GuestFacts, OsFacts, UserAccount, InstalledPackage, Gathered   # facts.py

What could not be read is a ``vmguard.problems.Problem`` (stage ``FACTS``, ``where`` the
guest path) in ``GuestFacts.problems`` / ``Gathered.problems``.
"""
