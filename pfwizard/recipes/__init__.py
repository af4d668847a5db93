"""Recipes from the field (the seeds): each turns one admin's hand fix into a proposed change.

Public API (each returns a ``Proposal``: params, master_params, tables, placements with their
risk; ``proposal.changeset()`` goes to pfwizard.engine)::

    allowlist_unresolved_senders(cf, config_dir, table_text, placement="before-unknown")
    reject_own_domain_senders(cf, config_dir, domains=None, placement="recipient")
    box_domains(config_dir) -> list[str]
    helo_dnsbl(cf, *, reject_unknown_helo=False, dnsbls=("zen.spamhaus.org",),
               rhsbls=("dbl.spamhaus.org",))
    opendmarc(cf, socket_name="inet:127.0.0.1:8893", default_action="accept")
    forged_local_senders(cf, config_dir, addresses=None, hook="main-cf" | "authclean")
        hook authclean: proposal.master_params = {"authclean/unix/header_checks": MiaB's
        value + ",pcre:TABLE"} (RecipeRefused without an authclean service in master.cf)
    box_mailboxes(config_dir) -> list[str]   (virtual_mailbox_maps + virtual_alias_maps keys)
    try_headers(table_text, headers) -> {header: action}   (postmap -q - pcre:FILE)
    RECIPES: id -> title, the ids `pfwizard explain` offers
"""

from pfwizard.explain.causes import RECIPE_TITLES as RECIPES
from pfwizard.recipes.forged_senders import box_mailboxes, forged_local_senders, try_headers
from pfwizard.recipes.helo_dnsbl import helo_dnsbl
from pfwizard.recipes.model import PlacementOption, Proposal, RecipeRefused
from pfwizard.recipes.opendmarc import opendmarc, reachable
from pfwizard.recipes.own_domains import box_domains, reject_own_domain_senders
from pfwizard.recipes.unresolved import allowlist_unresolved_senders

__all__ = [
    "RECIPES",
    "PlacementOption",
    "Proposal",
    "RecipeRefused",
    "allowlist_unresolved_senders",
    "box_domains",
    "box_mailboxes",
    "forged_local_senders",
    "helo_dnsbl",
    "opendmarc",
    "reachable",
    "reject_own_domain_senders",
    "try_headers",
]
