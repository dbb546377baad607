#!/usr/bin/env python3
"""Get an access token, renew it with the refresh token, and call the search API.

Sample code of the developer platform for the application "{{ values.app_name }}".
Standard library only (Python 3.8 or later). The client secret is read from the environment:

    {{ secret_variable }}=... python3 bearer_sample.py [WORDS TO SEARCH]

Over HTTPS with the sandbox's test certificate authority, also set SSL_CERT_FILE=ca.pem.
"""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

TOKEN_URL = "{{ values.token_url }}"
API_URL = "{{ values.api_url }}"
CLIENT_ID = "{{ values.client_id }}"
CLIENT_SECRET = os.environ.get("{{ secret_variable }}", "")


def mask(secret):
    """The first four characters of a secret, enough to tell two apart."""
    return secret[:4] + "…"


def token_request(fields):
    """POST the form to the token endpoint; the JSON answer (access and refresh token)."""
    body = urllib.parse.urlencode(
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **fields}
    ).encode("ascii")
    request = urllib.request.Request(
        TOKEN_URL,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def search(access_token, words):
    """GET /v1/searchoauth with the access token as a bearer token."""
    url = API_URL + "?" + urllib.parse.urlencode({"query": words})
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + access_token})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def main():
    if not CLIENT_SECRET:
        print("Set {{ secret_variable }} to the client secret shown under Keys in My Account.", file=sys.stderr)
        return 2
    words = " ".join(sys.argv[1:]) or "privacy"
    try:
        tokens = token_request({"grant_type": "client_credentials"})
        print(f"client_credentials: access token {mask(tokens['access_token'])}, "
              f"expires in {tokens['expires_in']} s")
        # Renew before the hour is up; the answer carries a new refresh token (rotation),
        # and only the latest one is accepted.
        renewed = token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        print(f"refresh_token: access token {mask(renewed['access_token'])}, "
              f"refresh token rotated {mask(tokens['refresh_token'])} -> {mask(renewed['refresh_token'])}")
        results = search(renewed["access_token"], words)
    except urllib.error.HTTPError as error:
        print(f"{error.code} {error.reason}: {error.read().decode('utf-8', 'replace')}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"cannot reach the platform: {error.reason}", file=sys.stderr)
        return 1
    print(f"GET /v1/searchoauth?query={words}: {results['count']} documents")
    for document in results["documents"]:
        print(f"  {document['id']}  {document['title']} ({document['agency']}, {document['published']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
