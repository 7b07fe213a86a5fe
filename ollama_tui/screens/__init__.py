"""Screens: dashboard, details, help and the operation dialogs."""
