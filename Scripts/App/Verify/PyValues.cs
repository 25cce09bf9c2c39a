using System.Globalization;
using System.Text.Json.Nodes;
using Functional.FSharp;

namespace Functional.App.Course;

/// <summary>An integer array for Python (labels, word indices, a mask): sent as .npy and converted to int64 there.</summary>
internal sealed record PyInts(Tensor Values);

/// <summary>A boolean array for Python (a mask): sent as .npy of 0/1 and converted to bool there.</summary>
internal sealed record PyBools(Tensor Values);

/// <summary>A Python tuple.</summary>
internal sealed record PyTuple(params object?[] Items);

/// <summary>A reference to the result of an earlier step of the same case, then item by item (an index or a key).</summary>
internal sealed record PyRef(int Step, params object[] Path)
{
    /// <summary>Item <paramref name="key"/> of this value.</summary>
    public PyRef this[object key] => new(Step, [.. Path, key]);
}

/// <summary>Python values to and from the driver's JSON (arrays as .npy payloads, with the library's Npy).</summary>
internal static class PyValues
{
    public static JsonNode? Encode(object? value, List<byte[]> payloads)
    {
        switch (value)
        {
            case null:
                return null;
            case Tensor t:
                payloads.Add(Functional.FSharp.NpyModule.toBytes(t));
                return new JsonObject { ["$npy"] = payloads.Count - 1 };
            case PyInts ints:
                payloads.Add(Functional.FSharp.NpyModule.toBytes(ints.Values));
                return new JsonObject { ["$npy"] = payloads.Count - 1, ["dtype"] = "int64" };
            case PyBools bools:
                payloads.Add(Functional.FSharp.NpyModule.toBytes(bools.Values));
                return new JsonObject { ["$npy"] = payloads.Count - 1, ["dtype"] = "bool" };
            case PyRef r:
                return new JsonObject { ["$ref"] = new JsonArray([(JsonNode)r.Step, .. r.Path.Select(p => p is int i ? (JsonNode)i : (JsonNode)(string)p)]) };
            case PyTuple tuple:
                return new JsonObject { ["$tuple"] = new JsonArray(tuple.Items.Select(i => Encode(i, payloads)).ToArray()) };
            case string s:
                return s;
            case bool b:
                return b;
            case int i:
                return i;
            case long l:
                return l;
            case double d:
                // Always with a '.' or an exponent, so that Python reads a float.
                var text = d.ToString("R", CultureInfo.InvariantCulture);
                return JsonNode.Parse(text.Contains('.') || text.Contains('E') ? text : text + ".0");
            case IEnumerable<KeyValuePair<string, object?>> dict:
                var o = new JsonObject();
                foreach (var (k, v) in dict)
                    o[k] = Encode(v, payloads);
                return o;
            case System.Collections.IEnumerable list:
                return new JsonArray(list.Cast<object?>().Select(i => Encode(i, payloads)).ToArray());
            default:
                throw new ArgumentException($"PyValues.Encode: no Python form for {value.GetType().Name}.", nameof(value));
        }
    }

    /// <summary>
    /// A reply value: arrays as <see cref="Tensor"/> (any dtype, read by the library's Npy reader), numbers as double,
    /// lists as lists, dicts as string-keyed dictionaries, anything else as <see cref="PyObject"/>.
    /// </summary>
    public static object? Decode(JsonNode? node, IReadOnlyList<byte[]> payloads)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonArray a:
                return a.Select(n => Decode(n, payloads)).ToList();
            case JsonObject o when o["$npy"] is { } i:
                return Functional.FSharp.NpyModule.ofBytes(payloads[(int)i]);
            case JsonObject o when o["$obj"] is { } name:
                return new PyObject((string)name!);
            case JsonObject o when o["$float"] is { } f:
                return (string?)f switch { "nan" => double.NaN, "inf" => double.PositiveInfinity, _ => double.NegativeInfinity };
            case JsonObject o when o["$dict"] is JsonArray pairs:
                var dict = new Dictionary<string, object?>();
                foreach (var p in pairs)
                    dict[Convert.ToString(Decode(p![0], payloads), CultureInfo.InvariantCulture) ?? "None"] = Decode(p[1], payloads);
                return dict;
            case JsonObject o:
                return o.ToDictionary(kv => kv.Key, kv => Decode(kv.Value, payloads));
            case JsonValue v when v.TryGetValue<bool>(out var b):
                return b;
            case JsonValue v when v.TryGetValue<string>(out var s):
                return s;
            case JsonValue v:
                return v.GetValue<double>();
            default:
                return null;
        }
    }
}

/// <summary>One batch of cases for the driver; each case is a list of steps whose results later steps refer to.</summary>
internal sealed class PyRequest
{
    public List<byte[]> Payloads { get; } = [];
    public List<List<JsonNode>> Cases { get; } = [];

    /// <summary>A new, empty case in this batch; with <paramref name="numeric"/> (the verification case) it also
    /// runs the numeric (directional-derivative) check of backward passes (<see cref="Directional"/>).</summary>
    public PyCase NewCase(Functional.FSharp.VerificationCase? numeric = null)
    {
        var steps = new List<JsonNode>();
        Cases.Add(steps);
        return new PyCase(this, steps) { NumericCase = numeric };
    }
}

/// <summary>The steps of one case; each method returns a reference to its step's result.</summary>
internal sealed class PyCase(PyRequest request, List<JsonNode> steps)
{
    /// <summary>The verification case when this case also checks backward passes against the student's own forward
    /// (<see cref="Directional"/>), else null.</summary>
    public Functional.FSharp.VerificationCase? NumericCase { get; init; }

    private PyRef Add(JsonObject step)
    {
        steps.Add(step);
        return new PyRef(steps.Count - 1);
    }

    private JsonNode? Enc(object? v) => PyValues.Encode(v, request.Payloads);

    private JsonObject CallStep(object target, string? method, object?[] args, IReadOnlyDictionary<string, object?>? kwargs, bool returned)
    {
        var step = new JsonObject
        {
            ["call"] = target is string s ? s : Enc(target),
            ["args"] = new JsonArray(args.Select(Enc).ToArray()),
            ["return"] = returned,
        };
        if (method is not null)
            step["method"] = method;
        if (kwargs is not null)
            step["kwargs"] = Enc(kwargs);
        return step;
    }

    /// <summary>
    /// Calls <paramref name="function"/> ("cs231n.layers.affine_forward") with <paramref name="args"/>. Its result
    /// is sent back when <paramref name="returned"/> (only item <paramref name="pick"/> of it when given); when
    /// <paramref name="needs"/> (an earlier result) is None the case is "not-implemented: <paramref name="needsName"/>
    /// returns None" rather than an error inside this call.
    /// </summary>
    public PyRef Call(string function, object?[] args, bool returned = true, int? pick = null,
        PyRef? needs = null, string? needsName = null, IReadOnlyDictionary<string, object?>? kwargs = null) =>
        Add(Decorate(CallStep(function, null, args, kwargs, returned), pick, needs, needsName));

    /// <summary>Calls a method of an earlier result (a model's loss).</summary>
    public PyRef CallMethod(PyRef target, string method, object?[] args, bool returned = true, int? pick = null) =>
        Add(Decorate(CallStep(target, method, args, null, returned), pick, null, null));

    private JsonObject Decorate(JsonObject step, int? pick, PyRef? needs, string? needsName)
    {
        if (pick is { } k)
            step["pick"] = k;
        if (needs is not null)
        {
            step["needs"] = Enc(needs);
            step["needsName"] = needsName ?? "an earlier call";
        }

        return step;
    }

    /// <summary>A value later steps share (a parameter dict the student's function updates).</summary>
    public PyRef Let(object? value) => Add(new JsonObject { ["let"] = Enc(value), ["return"] = false });

    /// <summary>The current value of an earlier result.</summary>
    public PyRef Get(PyRef value) => Add(new JsonObject { ["get"] = Enc(value) });

    /// <summary>target[key] = value.</summary>
    public PyRef SetItem(PyRef target, object key, object? value) =>
        Add(new JsonObject { ["setitem"] = Enc(target), ["key"] = Enc(key), ["value"] = Enc(value), ["return"] = false });
}
