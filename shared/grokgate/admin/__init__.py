"""The console: ``/admin``, served only while ``GROKGATE_ADMIN_KEY`` is set.

Server-rendered pages (Pool, Health, Jobs, Playground) with a little vanilla JavaScript served
from :mod:`grokgate.admin` 's ``static`` folder, and the JSON admin API under ``/admin/api``
that the pages call and scripts may call too. :mod:`grokgate.api.admin_routes` mounts it
lazily: nothing here is imported until the first ``/admin`` request.

- :mod:`.session`: the signed session cookie and the CSRF tokens (no server-side state);
- :mod:`.auth`: who is asking (the cookie, or the admin key as a bearer) and whether a change
  may go through;
- :mod:`.api` and :mod:`.schemas`: the JSON admin API and its wire shapes;
- :mod:`.pages` and :mod:`.views`: the HTML pages;
- :mod:`.app`: the sub-application that puts them together with a strict CSP.
"""
