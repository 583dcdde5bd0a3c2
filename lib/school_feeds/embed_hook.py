"""Put embeds into a page: `[embed URL title="..."]`, the `[embed]...[/embed]` block form
for a pasted vendor snippet, and the `Embed:` metadata field (appended after the text).

Works on any content object with `_content` and `metadata`; both feed plugins call it
and it runs once per object.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .embed import build_embed
from .shortcodes import EMBED_BLOCK, parse_args, replace_shortcodes

logger = logging.getLogger(__name__)

DONE_FLAG = "_school_feeds_embeds_done"


def _source_name(instance) -> str:
    return getattr(instance, "relative_source_path", None) or getattr(
        instance, "source_path", "a page"
    )


def render_embed(env, source: str, url_or_snippet: str, title: str | None, allowlists) -> str:
    embed, problem = build_embed(url_or_snippet, title, allowlists)
    if problem:
        logger.warning("Embed in %s: %s.", source, problem)
    if embed is None:
        return ""
    template = env.get_template(f"partials/{embed.kind or 'lunch'}_embed.html")
    return template.render(embed=embed)


def apply_embeds(instance, env, allowlists: dict[str, Iterable[str]]) -> None:
    content = getattr(instance, "_content", None)
    if getattr(instance, DONE_FLAG, False) or not isinstance(content, str):
        return
    setattr(instance, DONE_FLAG, True)
    source = _source_name(instance)

    def single(name: str, positional: list[str], named: dict[str, str]) -> str | None:
        if not positional:
            return None  # the opening tag of a block embed
        return render_embed(env, source, positional[0], named.get("title"), allowlists)

    def block(match) -> str:
        _, named = parse_args(match.group("args") or "")
        return render_embed(env, source, match.group("body"), named.get("title"), allowlists)

    if "[embed" in content:
        content = replace_shortcodes(content, ["embed"], single)
        content = EMBED_BLOCK.sub(block, content)
    metadata = getattr(instance, "metadata", {}) or {}
    if metadata.get("embed"):
        positional, named = parse_args(str(metadata["embed"]))
        if positional:
            title = named.get("title") or metadata.get("embed_title")
            content += render_embed(env, source, positional[0], title, allowlists)
        else:
            logger.warning("Embed in %s: the Embed: field needs an https:// address.", source)
    instance._content = content


def allowlists(settings: dict) -> dict[str, list[str]]:
    """{"lunch": LUNCH_EMBED_HOSTS, "athletics": ATHLETICS_EMBED_HOSTS} for the plugins in use."""
    return {
        name: list(settings[f"{name.upper()}_EMBED_HOSTS"])
        for name in ("lunch", "athletics")
        if settings.get(f"{name.upper()}_EMBED_HOSTS")
    }
