"""Facts about the guest operating system, read through a GuestView (never the host)."""
