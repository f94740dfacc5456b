"""The web interface: server-rendered pages (Jinja2) with htmx, mounted into the API's app.

``app.install`` mounts it; ``views`` (sign-in, sign-out), ``triage_views`` (the analyst's
queue and vulnerability page) and ``model_views`` (model designation) hold the routes, thin as
the API's: they check the role, call the pipeline (page reads in ``pipeline.queries``), render
``templates/``. ``auth`` holds password users and sessions (``models``), ``security`` the
headers, CSRF and form parsing, ``pages`` the rendering and error pages every route shares.
Visibility and every rule stay in the pipeline and below: a page never decides who may see what.
"""
