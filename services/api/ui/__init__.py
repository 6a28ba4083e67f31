"""The HTML side of the api: templates, the page context, the listing of tables, form handling."""
