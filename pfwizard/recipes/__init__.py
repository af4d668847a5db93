"""Recipes from the field (the seeds): each turns one admin's hand fix into a proposed change.

Public API (each returns a ``Proposal``; ``proposal.changeset()`` goes to pfwizard.engine)::

    allowlist_unresolved_senders(cf, config_dir, table_text, placement="before-unknown")
    reject_own_domain_senders(cf, config_dir, domains=None, placement="recipient")
    box_domains(config_dir) -> list[str]
    helo_dnsbl(cf, ...), opendmarc(cf, ...), forged_local_senders(...)   (recipes 3-5)
    RECIPES: id -> title, the ids `pfwizard explain` offers
"""

from pfwizard.explain.causes import RECIPE_TITLES as RECIPES
from pfwizard.recipes.model import PlacementOption, Proposal, RecipeRefused
from pfwizard.recipes.own_domains import box_domains, reject_own_domain_senders
from pfwizard.recipes.unresolved import allowlist_unresolved_senders

__all__ = [
    "RECIPES", "PlacementOption", "Proposal", "RecipeRefused", "allowlist_unresolved_senders",
    "box_domains", "reject_own_domain_senders",
]
