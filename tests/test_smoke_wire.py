from tests.helpers import customer, seed


def test_ping(client):
    r = client.get("/api/method/ping")
    assert r.status_code == 200
    assert r.json() == {"message": "pong"}


def test_fetch_finds_seeded_customer(client, services):
    seed(services, customer("Ali Hassan"), customer("Bob"))
    r = client.get("/api/method/medusa_integration.api.fetch_all_customers", params={"name": "ALI"})
    assert [row["name"] for row in r.json()["message"]] == ["Ali Hassan"]
