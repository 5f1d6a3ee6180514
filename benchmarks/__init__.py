"""``make bench``: performance benchmarks of the Canvas provider against same-run peers."""
