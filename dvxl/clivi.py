"""click speaks Vietnamese: its own messages from the gettext catalogue shipped with dvxl.

click marks every string it shows a user (usage errors, "No such command", help headings,
"[default: …]", the progress bar's days) for gettext: each of its modules does
``from gettext import gettext as _`` (and ``ngettext``) at import. Those are the process-wide
functions of the standard library, which look the message up in the *current text domain*
for the languages named by the LANGUAGE, LC_ALL, LC_MESSAGES or LANG variables. That route
is wrong for dvxl twice over: a Windows PC sets none of those variables, so click would
stay English whatever we ship; and making it work would mean changing the process-wide
domain and language (``gettext.textdomain``, ``os.environ["LANGUAGE"]``), which every
other gettext user in the process, and LibreOffice started from it, would then follow.

So :func:`install` gives click its own translator instead: the catalogue
``dvxl/locale/vi/LC_MESSAGES/click.mo`` (compiled from ``click.po`` beside it by
``scripts/compile_messages.py``) is loaded as a :class:`gettext.GNUTranslations`, and its
``gettext`` and ``ngettext`` replace the names ``_`` and ``ngettext`` in click's modules,
and only there. The language does not depend on the user's settings; the global
``gettext`` state, argparse, optparse and any other library keep theirs. Every click
module is imported first, so that one imported late (``click._termui_impl`` when a
progress bar starts) is not left in English. ``tests/test_clivi.py`` checks that no click
module keeps the standard functions and that the catalogue covers every message the
installed click marks.

It must run before click objects are built: some strings are translated when a command
is declared (``click.Path``'s name, shown as THƯ_MỤC in the help). :mod:`dvxl.cli` calls it
as it is imported; another click program in the same process would then speak
Vietnamese too.
"""

from __future__ import annotations

import gettext
import importlib
import io
import pkgutil
import sys
from importlib import resources

import click

DOMAIN = "click"
LANGUAGE = "vi"
#: The compiled catalogue, inside the package (``pyproject.toml`` ships it as package data).
CATALOGUE = f"locale/{LANGUAGE}/LC_MESSAGES/{DOMAIN}.mo"


def catalogue() -> gettext.NullTranslations:
    """The Vietnamese catalogue of click's messages; click's own English if it is missing."""
    try:
        data = resources.files("dvxl").joinpath(CATALOGUE).read_bytes()
    except OSError:  # a broken install: English messages beat no command at all
        return gettext.NullTranslations()
    return gettext.GNUTranslations(io.BytesIO(data))


def click_modules() -> list[str]:
    """Every module of the installed click that can be imported on this system."""
    names = ["click"]
    for info in pkgutil.iter_modules(click.__path__, "click."):
        if info.name == "click._winconsole" and sys.platform != "win32":
            continue  # the Windows console only (it asserts so when imported)
        try:
            importlib.import_module(info.name)
        except ImportError:
            continue
        names.append(info.name)
    return names


def install() -> gettext.NullTranslations:
    """Make click's modules translate through :func:`catalogue`; returns the catalogue."""
    translations = catalogue()
    for name in click_modules():
        module = sys.modules[name]
        if _translator(getattr(module, "_", None), gettext.gettext):
            module._ = translations.gettext  # type: ignore[attr-defined]
        if _translator(getattr(module, "ngettext", None), gettext.ngettext):
            module.ngettext = translations.ngettext  # type: ignore[attr-defined]
    return translations


def _translator(found: object, standard: object) -> bool:
    """Whether ``found`` is the standard function or a catalogue's (installed before)."""
    return found is standard or isinstance(getattr(found, "__self__", None),
                                           gettext.NullTranslations)
