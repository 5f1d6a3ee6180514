"""Sensors for Canvas LMS course reports."""
