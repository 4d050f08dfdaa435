"""A small client of Superset's REST API: log in once, then GET/POST/PUT JSON with the tokens Superset expects."""

from __future__ import annotations

from typing import Any

import requests

from pulse_analytics.errors import PulseError

PAGE_SIZE = 100
TIMEOUT_S = 60


class SupersetError(PulseError):
    """Superset answered a request with an error; the message names the request and Superset's answer."""


class SupersetApi:
    """A session logged in to one Superset (JWT access token + CSRF token, as the API requires for writes)."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Referer"] = self.url
        try:
            response = self.session.post(
                f"{self.url}/api/v1/security/login",
                timeout=TIMEOUT_S,
                json={"username": username, "password": password, "provider": "db", "refresh": False},
            )
        except requests.ConnectionError as error:
            raise SupersetError(
                f"cannot reach Superset at {self.url}: {error}. Is it running (`pulse superset status`)?"
            ) from error
        if response.status_code == 401:
            raise SupersetError(
                f"Superset at {self.url} refused the login of user '{username}': wrong user name or "
                "password (PULSE_ANALYTICS_SUPERSET_ADMIN_USER / _PASSWORD)."
            )
        if response.status_code == 429:
            raise SupersetError(
                f"Superset at {self.url} refused the login of user '{username}': too many logins from "
                "this address (AUTH_RATE_LIMIT of its configuration). Wait a minute, then try again."
            )
        self._check(response, "POST /api/v1/security/login")
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        self.session.headers["X-CSRFToken"] = self.get("/api/v1/security/csrf_token/")["result"]

    def get(self, path: str, **params: Any) -> Any:
        return self._send("GET", path, params=params or None)

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        return self._send("POST", path, json=payload)

    def put(self, path: str, payload: dict[str, Any]) -> Any:
        return self._send("PUT", path, json=payload)

    def delete(self, path: str) -> Any:
        return self._send("DELETE", path)

    def list_all(self, path: str) -> list[dict[str, Any]]:
        """Every item of a list endpoint (e.g. /api/v1/chart/), page after page."""
        items: list[dict[str, Any]] = []
        page = 0
        while True:
            answer = self.get(path, q=f"(page:{page},page_size:{PAGE_SIZE})")
            items.extend(answer["result"])
            if len(answer["result"]) < PAGE_SIZE:
                return items
            page += 1

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.url}{path}", timeout=TIMEOUT_S, **kwargs)
        self._check(response, f"{method} {path}")
        return response.json()

    @staticmethod
    def _check(response: requests.Response, request: str) -> None:
        if response.status_code >= 400:
            raise SupersetError(f"Superset answered {request} with HTTP {response.status_code}: {response.text[:500]}")
