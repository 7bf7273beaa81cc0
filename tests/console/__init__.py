"""The web console without a browser: languages, catalogues, templates, static files."""
