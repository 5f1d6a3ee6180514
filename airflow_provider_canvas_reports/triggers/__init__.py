"""Triggers for Canvas LMS course reports."""
