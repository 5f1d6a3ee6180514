"""Hooks for Canvas LMS course reports."""
