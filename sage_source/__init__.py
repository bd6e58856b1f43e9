"""The dlt source for Sage Business Cloud Accounting v3.1 (built in the next issue)."""
