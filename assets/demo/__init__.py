"""MiaB v75's main.cf and master.cf as shipped (placeholders: box.example.com, 203.0.113.25)."""
