import random

from quoteflow.bus import broker_nodes


def test_a_single_node_url_is_kept_as_is():
    assert broker_nodes("amqp://u:p@rabbitmq:5672//") == ["amqp://u:p@rabbitmq:5672//"]


def test_nodes_without_credentials_take_the_first_nodes_and_keep_their_own():
    url = "amqp://app:s3cret@node-0:5672//;amqp://node-1:5672//; amqp://other:pw@node-2:5672/vh"
    assert sorted(broker_nodes(url)) == [
        "amqp://app:s3cret@node-0:5672//",
        "amqp://app:s3cret@node-1:5672//",
        "amqp://other:pw@node-2:5672/vh",
    ]


def test_clients_start_at_different_nodes():
    url = ";".join(f"amqp://u:p@node-{i}:5672//" for i in range(3))
    rng = random.Random(7)
    firsts = {broker_nodes(url, rng)[0] for _ in range(30)}
    assert firsts == {f"amqp://u:p@node-{i}:5672//" for i in range(3)}
