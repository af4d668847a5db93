"""Files shipped with pfwizard: the demo MiaB configuration, the theme, unit files."""
