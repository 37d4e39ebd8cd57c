"""DMP Desktop: a client for the French shared medical record (DMP)."""

__version__ = "0.1.0"
LPS_NAME = "DMP Desktop"
