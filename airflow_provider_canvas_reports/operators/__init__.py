"""Operators for Canvas LMS course reports."""
