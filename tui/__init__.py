"""The Textual wizard. Holds no Postfix logic: everything it shows comes from ``pfwizard``."""
