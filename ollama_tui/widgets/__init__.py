"""Widgets: the virtual model tables, status line, filter bar, viewers and job progress."""
