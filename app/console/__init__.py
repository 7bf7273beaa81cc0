"""The web console: server-rendered pages for people, and the vendored browser assets they load
(static/vendor/, see its README), served by the same FastAPI app as the API."""
