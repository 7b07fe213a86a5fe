"""Screens: dashboard, details, help (UI-A) and the operation dialogs (UI-B)."""
