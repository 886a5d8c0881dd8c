"""The receiving server's anti-spoofing verdict (RFC 8601 ``Authentication-Results``), read only where it can be
trusted, so a forged sender gets no automatic reply (backscatter).

Anyone can write an ``Authentication-Results`` field; a receiving server adds its own on top of those the
message arrived with (RFC 8601 §5, §7.1). So only one field counts:

* with an ``authserv_id`` (the receiving server's, e.g. ``mx.socialstyrelsen.dk``): the topmost field carrying
  it — never one below it, which the sender may have written, nor one naming another server;
* Exchange Online (``exchange_online``), which writes its field with no authserv-id (``Authentication-Results:
  spf=pass (sender IP is …) smtp.mailfrom=…; dkim=pass (signature was verified) header.d=…; dmarc=pass
  action=none header.from=…; compauth=pass reason=100``): the topmost field only, and only if it has that form.

Parsing is the ``authres`` library's (RFC 8601 grammar: comments, quoted values, properties).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import authres

EXCHANGE_ONLINE = "exchange_online"
_EXCHANGE_STAND_IN = "exchange-online.invalid"  # what an id-less Exchange field is parsed with
_FIRST_TOKEN = re.compile(r"\s*([^\s;(]+)")


@dataclass(frozen=True)
class Verdict:
    """What the trusted field says: ``forged`` when it shows the sender is not who From says."""

    forged: bool
    detail: str  # who judged and the deciding results: "mx.socialstyrelsen.dk: dmarc=fail header.from=aarhus.dk"


def trusted_results(fields: list[str], authserv_id: str = "", provider: str = ""
                    ) -> dict[str, list[authres.core.AuthenticationResult]] | None:
    """The results to believe among ``fields`` (topmost first), by method; None when no field is trusted.

    A receiving server may write several fields under its id (OpenDKIM's, then OpenDMARC's): each method's
    topmost result counts. One the sender wrote under the same id sits below the server's own, so it can add
    a method the server did not check, never override one it did (and a forged pass changes nothing)."""
    if provider == EXCHANGE_ONLINE:
        first = _FIRST_TOKEN.match(fields[0]) if fields else None
        if first is None or "=" not in first.group(1):
            return None  # the topmost field carries an authserv-id (or is empty): not Exchange Online's
        parsed = _parse(f"{_EXCHANGE_STAND_IN}; {fields[0]}")
        return None if parsed is None else _by_method([parsed])
    if not authserv_id:
        return None
    trusted = [parsed for parsed in map(_parse, fields)
               if parsed is not None and str(parsed.authserv_id).lower() == authserv_id.lower()]
    return _by_method(trusted) if trusted else None


def _by_method(fields: list[authres.AuthenticationResultsHeader]
               ) -> dict[str, list[authres.core.AuthenticationResult]]:
    """Each method's results from the topmost field that has that method (a message may carry several DKIM
    signatures: all of that field's dkim results)."""
    found: dict[str, list[authres.core.AuthenticationResult]] = {}
    for field in fields:
        here: dict[str, list[authres.core.AuthenticationResult]] = {}
        for result in field.results:
            here.setdefault(str(result.method).lower(), []).append(result)
        for method, results in here.items():
            found.setdefault(method, results)
    return found


def _parse(value: str) -> authres.AuthenticationResultsHeader | None:
    unfolded = " ".join(value.split())
    try:
        return authres.AuthenticationResultsHeader.parse_value(unfolded)
    except authres.AuthResError:
        return None


def verdict(fields: list[str], from_domain: str, authserv_id: str = "", provider: str = "",
            spf_fail_is_forged: bool = False) -> Verdict | None:
    """The verdict of the trusted field for a message whose From domain is ``from_domain``; None when no
    field is trusted (nothing configured, or none found): the message is treated as before."""
    results = trusted_results(fields, authserv_id, provider)
    if results is None:
        return None
    by = "Exchange Online" if provider == EXCHANGE_ONLINE else authserv_id
    dmarc = results.get("dmarc", [])
    if any(_result(r) == "fail" for r in dmarc):
        return Verdict(True, f"{by}: dmarc=fail header.from={_property(dmarc[0], 'header', 'from') or from_domain}")
    spf = results.get("spf", [])
    if spf_fail_is_forged and spf and _result(spf[0]) == "fail":
        signers = [_property(r, "header", "d") or _property(r, "header", "i").rpartition("@")[2]
                   for r in results.get("dkim", []) if _result(r) == "pass"]
        if not any(_aligned(signer, from_domain) for signer in signers):
            return Verdict(True, f"{by}: spf=fail smtp.mailfrom={_property(spf[0], 'smtp', 'mailfrom')}, "
                                 "no aligned dkim=pass")
    summary = " ".join(f"{method}={_result(found[0])}" for method, found in sorted(results.items()))
    return Verdict(False, f"{by}: {summary}")


def _result(result: authres.core.AuthenticationResult) -> str:
    return str(result.result).lower()


def _property(result: authres.core.AuthenticationResult, kind: str, name: str) -> str:
    for prop in result.properties:
        if str(prop.type).lower() == kind and str(prop.name).lower() == name:
            return str(prop.value)
    return ""


def _aligned(signer: str, from_domain: str) -> bool:
    """Relaxed alignment (DMARC, RFC 7489 §3.1.1), approximated without the public suffix list: the same
    domain, or one a subdomain of the other."""
    signer, own = signer.lower().strip("."), from_domain.lower().strip(".")
    return bool(signer and own) and (signer == own or signer.endswith("." + own) or own.endswith("." + signer))
