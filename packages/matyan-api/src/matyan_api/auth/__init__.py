"""Authentication of the API: API tokens with scopes, the web UI's login and session cookie.

Off unless ``MATYAN_AUTH=enabled``; see :mod:`matyan_api.auth.settings` for the production rule and
:mod:`matyan_api.auth.middleware` for what a request needs.
"""
