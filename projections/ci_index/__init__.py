"""The configuration items index (ADR 0063)."""
