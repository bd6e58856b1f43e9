"""The sandbox's HTTP face: Sage's API under ``/v3.1``, OAuth, and admin routes under ``/_sandbox``."""
