"""
The Canvas client behind :class:`~airflow_provider_canvas_reports.hooks.canvas.CanvasHook`.

Only the hook uses these modules (operators, sensors and triggers ask the hook; they may read
:mod:`.ids` to check ids before any request). ``calls`` says what each Canvas call is and how its
answer is read, ``parameters`` checks report parameters, ``responses`` turns any answer into a
value or a :class:`~airflow_provider_canvas_reports.exceptions.CanvasError`, ``transport`` moves
bytes (sync and async) with retries and throttling, ``paging`` follows ``Link: rel="next"``,
``download`` streams a report's file, ``settings`` reads the connection. Nothing is imported here,
so that importing one of them (Airflow reads ``settings`` while it loads the provider) is cheap.
"""
