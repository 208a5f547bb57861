#!/usr/bin/env python3
"""Writes testdata/geoip/beckon-test-city.mmdb, the tiny GeoIP City database the server's
geolocation tests configure (and beckon-test-asn.mmdb, an ASN one the server must refuse) (there is no real GeoLite2 file on a test machine, and none may be
fetched). It is shaped like MaxMind's GeoLite2-City records, so the server reads it exactly as
it would read the real database.

Run `python3 scripts/make-geoip-fixture.py` from the repository root. When the PyPI package
`mmdb-writer` is not importable, the script makes a venv under target/geoip-fixture-venv,
installs it there and runs itself again with that venv's Python. Commit the .mmdb files it writes.
"""

import os
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "testdata", "geoip")
VENV = os.path.join(ROOT, "target", "geoip-fixture-venv")
WRITER = "mmdb-writer==0.2.7"


def city(iso, country, region=None, region_name=None, locality=None, postal=None, zone=None):
    """One GeoLite2-City record; the parts not given are left out, as MaxMind does."""
    record = {"country": {"iso_code": iso, "names": {"en": country}}}
    if region:
        record["subdivisions"] = [{"iso_code": region, "names": {"en": region_name}}]
    if locality:
        record["city"] = {"names": {"en": locality[0], "de": locality[1]}}
    if postal:
        record["postal"] = {"code": postal}
    if zone:
        record["location"] = {"time_zone": zone}
    return record


# Loopback is Amsterdam, so a test's requests from 127.0.0.1 get a location; the documentation
# ranges (RFC 5737) stand for visitors elsewhere, sent in a client-address header.
NETWORKS = [
    (["127.0.0.0/8", "::1/128"],
     city("NL", "Netherlands", "NH", "North Holland", ("Amsterdam", "Amsterdam"), "1012",
          "Europe/Amsterdam")),
    (["192.0.2.0/24"],
     city("DE", "Germany", "BY", "Bavaria", ("Munich", "München"), "80331", "Europe/Berlin")),
    (["198.51.100.0/24"],
     city("US", "United States", "CA", "California", ("San Francisco", "San Francisco"),
          "94103", "America/Los_Angeles")),
    # Known only to the country, as many addresses are in the real database.
    (["203.0.113.0/24"], city("JP", "Japan")),
]


def main():
    try:
        from mmdb_writer import MMDBWriter
        from netaddr import IPSet
    except ImportError:
        python = os.path.join(VENV, "bin", "python")
        if sys.executable == python:
            raise
        if not os.path.exists(python):
            venv.create(VENV, with_pip=True)
            subprocess.run([python, "-m", "pip", "install", "-q", WRITER], check=True)
        os.execv(python, [python, os.path.abspath(__file__)])

    city_db = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-City",
        languages=["en", "de"],
        description={
            "en": "Beckon test fixture: made-up places for loopback and RFC 5737 ranges",
            "de": "Beckon-Testdaten: erfundene Orte für Loopback und RFC-5737-Netze",
        },
    )
    for networks, record in NETWORKS:
        city_db.insert_network(IPSet(networks), record)
    asn_db = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-ASN",
                        description="Beckon test fixture: not a location database")
    asn_db.insert_network(IPSet(["127.0.0.0/8"]), {
        "autonomous_system_number": 64496, "autonomous_system_organization": "Example"})
    os.makedirs(OUT, exist_ok=True)
    for name, writer in [("beckon-test-city.mmdb", city_db), ("beckon-test-asn.mmdb", asn_db)]:
        path = os.path.join(OUT, name)
        writer.to_db_file(path)
        print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
