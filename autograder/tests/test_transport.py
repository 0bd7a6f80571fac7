"""The transport's written contract (``autograder/judge/transport/__init__.py``): spies come
back, a check's object that could not is refused up front, patched globals are set and
restored, and what the contract does not carry comes back opaque."""

import pytest
import torch

from autograder import config
from autograder.judge import transport
from autograder.judge.student import Student, StudentFunction


def _function(source: str, name: str = "f") -> StudentFunction:
    student = Student([("answer", source)], {"torch": torch}, config.defaults(cell_seconds=60))
    return StudentFunction(student, name)


class Recorder(transport.Spy):
    """A spy: what the student's code does with it comes back."""

    def __init__(self):
        self.calls, self.last = [], None
        self._private = "stays"

    def __call__(self, value):
        self.calls.append(value)
        self.last = value * 2
        self._private = "changed in the child"
        return value + 1


class StubEncoder(transport.Spy, torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 2)
        self.seen = []

    def forward(self, x):
        self.seen.append(x.shape[0])
        return self.linear(x)


class Unmarked:
    """A check's class that is not a spy."""

    def __init__(self):
        self.calls = []


def test_a_spys_public_attributes_come_back():
    f = _function("def f(record, model):\n"
                  "    model(torch.ones(3, 2))\n"
                  "    return [record(i) for i in range(3)] + [helper(10)]\n")
    record, helper, model = Recorder(), Recorder(), torch.nn.Sequential(StubEncoder())
    calls, seen = record.calls, model[0].seen
    with transport.patched_globals(f, helper=helper):
        assert f(record, model) == [1, 2, 3, 11]
    assert record.calls == [0, 1, 2] and record.calls is calls, "updated in place"
    assert record.last == 4, "a plain value is replaced"
    assert record._private == "stays", "private attributes do not travel"
    assert helper.calls == [10], "a spy in the patched globals comes back too"
    assert model[0].seen == [3] and model[0].seen is seen, "a spy among a model's submodules"


def test_a_spy_round_trips_without_a_child():
    record = Recorder()
    roots = {"0": record}
    changes = transport.Encoder(roots, transport.tensor_versions(roots), states=True)
    record(5)
    payload = transport.loads(transport.dumps(changes.encode(record, alias=False)))
    grader = Recorder()  # the grader's own copy, before the call
    transport.update_in_place(grader, transport.Decoder({"0": grader}).decode(payload))
    assert grader.calls == [5] and grader.last == 10 and grader._private == "stays"


def test_a_checks_object_that_cannot_come_back_is_refused_by_name():
    f = _function("def f(x):\n    return x\n")
    with pytest.raises(TypeError, match=r"argument 0: .*Unmarked.*transport\.Spy.*patched_globals"):
        f(Unmarked())
    calls = []

    def recording(value):  # a closure: its cells would not come back
        calls.append(value)

    with pytest.raises(TypeError, match=r"patched globals\['helper'\]: the function .*recording"
                                        r".*closure"):
        with transport.patched_globals(f, helper=recording):
            f(1)
    with pytest.raises(TypeError, match=r"keyword argument x\[0\]\['deep'\]: .*Unmarked"):
        f(x=[{"deep": Unmarked()}])
    with pytest.raises(TypeError, match=r"submodule 0"):
        f(torch.nn.Sequential(UnmarkedModule()))


class UnmarkedModule(torch.nn.Module):
    def forward(self, x):
        return x


def _plain(value):  # a function without closure cells: it records nothing, so it may cross
    return value


def test_what_the_notebook_and_libraries_define_crosses_as_before():
    namespace = {"__name__": "__main__"}
    exec("class Mine:\n    pass\ndef g(x):\n    return x\n", namespace)  # noqa: S102
    f = _function("def f(*values):\n    return len(values)\n")
    values = (namespace["Mine"](), namespace["g"], torch.nn.Linear(2, 2), torch.ones(2), _plain,
              Recorder(), torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1))
    transport.check_crossing({str(i): v for i, v in enumerate(values)})
    assert f(*values) == len(values)


def test_patched_globals_sets_and_restores_names_also_on_error():
    namespace = {"kept": 1}
    exec("def g():\n    return kept, added\n", namespace)  # noqa: S102
    g = namespace["g"]
    with transport.patched_globals(g, kept=2, added=3):
        assert g() == (2, 3)
    assert namespace["kept"] == 1 and "added" not in namespace
    with pytest.raises(RuntimeError):
        with transport.patched_globals(g, kept=5, added=6):
            raise RuntimeError("a failing check")
    assert namespace["kept"] == 1 and "added" not in namespace

    f = _function("def f():\n    return setting\n")
    with transport.patched_globals(f, setting=7):
        assert f() == 7, "the judge's proxy sends its patches along with the call"
    assert f.__globals__ == {}


def test_a_type_outside_the_contract_returns_as_opaque():
    f = _function("class Mine:\n"
                  "    def __repr__(self):\n        return 'mine'\n"
                  "def f():\n"
                  "    return Mine(), (i for i in range(3)), {(1, 2): 'tuple key'}\n")
    mine, generator, odd_keys = f()
    assert isinstance(mine, transport.Opaque) and mine.type_name == "Mine" and mine.text == "mine"
    assert isinstance(generator, transport.Opaque) and generator.type_name == "generator"
    assert isinstance(odd_keys, transport.Opaque) and odd_keys.type_name == "dict"


def test_spy_marks_classes_only():
    @transport.spy
    class Marked:
        pass

    assert transport.is_spy(Marked()) and not transport.is_spy(Unmarked())
    with pytest.raises(TypeError, match="marks a class"):
        transport.spy(lambda: None)


@pytest.fixture
def payloads(monkeypatch) -> list:
    """What each call's child sent back, as the grader read it."""
    read, real_loads = [], transport.loads
    monkeypatch.setattr(transport, "loads", lambda data: read.append(real_loads(data)) or read[-1])
    return read


def test_plain_arguments_the_call_left_alone_do_not_travel_back(payloads):
    f = _function("def f(data, KB, model):\n"
                  "    data[1]['answers'].append('new')\n"
                  "    KB[0] = dict(KB[0])  # an equal copy: the content is as it was\n"
                  "    return len(KB)\n")
    data = [{"question": "q", "answers": ["a"]}, {"question": "r", "answers": ["b"]}]
    KB = [{"title": "T", "text": "x"}, {"title": "U", "text": "y"}]
    first, answers = KB[0], data[1]["answers"]
    assert f(data, KB, torch.nn.Linear(2, 2)) == 2
    roots = payloads[-1]["roots"]
    assert roots["1"] == {"__alias__": ["1"]}, "the KB's content did not change: it stays here"
    assert roots["2"] != {"__alias__": ["2"]}, "a model is not plain data: it comes as before"
    assert data[1]["answers"] == ["b", "new"] and data[1]["answers"] is answers, \
        "a changed argument still comes back, applied in place"
    assert KB[0] is first and KB == [{"title": "T", "text": "x"}, {"title": "U", "text": "y"}]


def test_plain_digest_sees_content_and_only_plain_data():
    def data():
        return [{"title": "T", "answers": ["a", 1, 2.5, None, True]}, ("x", {"k": [3]})]

    assert transport.plain_digest(data()) == transport.plain_digest(data())
    changed = data()
    changed[1][1]["k"].append(4)
    assert transport.plain_digest(changed) != transport.plain_digest(data())
    assert transport.plain_digest([1, 2]) != transport.plain_digest((1, 2))
    assert transport.plain_digest([1]) != transport.plain_digest([True])

    class Mine(list):
        pass

    for not_plain in ([torch.ones(2)], [{"k": Mine()}], {(1, 2): "tuple key"}, [lambda: 0]):
        assert transport.plain_digest(not_plain) is None
    nested = []
    for _ in range(70):
        nested = [nested]
    assert transport.plain_digest(nested) is None, "deeper than the encoder goes"
    shared = []
    for _ in range(50):  # 2**50 paths through 50 lists: each is looked at once
        shared = [shared, shared]
    assert transport.plain_digest(shared) is not None


def test_objects_moved_between_arguments_keep_their_content_and_identity():
    """Like a hard-negative miner that sets each example's negative in place: each example
    already pointed at one passage of the KB and now points at another. The grader's KB keeps
    its passages as they were, and the examples point at the grader's own passages."""
    f = _function("def f(data, KB):\n"
                  "    for i, example in enumerate(data):\n"
                  "        example['negative'] = KB[(i + 1) % len(KB)]\n"
                  "    data[0]['fresh'] = {'title': 'new'}\n"
                  "    return data, data[0]['fresh']\n")
    KB = [{"title": title, "text": title.lower()} for title in "ABCD"]
    data = [{"question": str(i), "negative": KB[i]} for i in range(4)]
    passages = [dict(passage) for passage in KB]
    returned, fresh = f(data, KB)
    assert returned is data
    assert KB == passages, "the KB's passages are as they were"
    assert all(example["negative"] is KB[(i + 1) % 4] for i, example in enumerate(data))
    assert fresh == {"title": "new"} and fresh is data[0]["fresh"], \
        "what the result shares with the arguments, new or not, it shares on the grader's side"


def test_an_objects_new_state_travels_once(payloads):
    f = _function("def f(model, record):\n"
                  "    with torch.no_grad():\n"
                  "        model.weight.add_(1.0)\n"
                  "    record(model)\n"
                  "    record(model)\n"
                  "    return None\n")
    class Seen(transport.Spy):
        def __init__(self):
            self.models = []

        def __call__(self, model):
            self.models.append(model)

    model, record = torch.nn.Linear(2, 2), Seen()
    expected = model.weight.detach() + 1.0
    f(model, record)
    assert str(payloads[-1]).count("__module__") == 1, "the model's weights came more than once"
    assert record.models[0] is model and record.models[1] is model
    assert torch.equal(model.weight.detach(), expected)


def test_a_model_a_spy_holds_gets_its_new_weights_in_place():
    class Holder(transport.Spy):
        def __init__(self):
            self.models = [torch.nn.Linear(2, 2)]

    f = _function("def f(holder):\n"
                  "    with torch.no_grad():\n"
                  "        holder.models[0].weight.add_(1.0)\n")
    holder = Holder()
    model = holder.models[0]
    expected = model.weight.detach() + 1.0
    f(holder)
    assert holder.models[0] is model and torch.equal(model.weight.detach(), expected)
