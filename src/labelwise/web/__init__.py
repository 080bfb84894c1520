"""Pages people read in a browser: rendered on the server, with no script from anywhere."""
