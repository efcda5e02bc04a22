"""Searches run in a pool of worker processes, off the API's event loop (docs/architecture.md).

- :mod:`.pipeline`: the one search pipeline (prepare, plan, evaluate and encode, progress) and the
  :class:`SearchJob` each search route describes its request with;
- :mod:`.worker`: the search process (opens the store, sets its limits, runs jobs);
- :mod:`.pool`: the API process's side (processes, limits, relaying a job's output);
- :mod:`.relay`: a job's output as the HTTP answer (an enveloped 4xx, or the stream);
- :mod:`.settings`: ``MATYAN_SEARCH_*``.
"""
