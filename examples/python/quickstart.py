"""Quick start: fetch a token, call the API.

    STARMILE_BASE_URL=... STARMILE_CLIENT_ID=... STARMILE_CLIENT_SECRET=... python quickstart.py
"""

import starmile

# base_url, client_id and client_secret come from STARMILE_* in the environment.
with starmile.Client() as client:
    token = client.get_token()
    print(f"token: {token[:6]}…")

    response = client.get("/v1/echo", params={"hello": "world"})
    echoed = response.json()
    print(f"status: {response.status_code}")
    print(f"echoed: {echoed['method']} {echoed['path']}")
