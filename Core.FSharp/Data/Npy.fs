namespace Functional.FSharp

open System
open System.IO
open System.IO.Compression
open System.Text
open System.Buffers.Binary
open Functional

/// Writes a file atomically: into a temporary file next to the target, flushed to disk, then renamed over the
/// target. On any failure the temporary file is deleted and the target is left as it was.
module internal AtomicFile =
    let write (fn: string) (path: string) (writeTo: Stream -> unit) =
        if String.IsNullOrWhiteSpace path then
            Guard.fail fn "path" "the path must not be null or empty."

        let full = Path.GetFullPath path
        let dir = Path.GetDirectoryName full

        if not (Directory.Exists dir) then
            Guard.fail fn "path" $"the directory '{dir}' does not exist."

        let tmp = full + ".tmp-" + Guid.NewGuid().ToString("N")

        try
            do
                use fs =
                    new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 <<< 16)

                writeTo fs
                fs.Flush(true)

            File.Move(tmp, full, true)
        with _ ->
            try
                File.Delete tmp
            with _ ->
                ()

            reraise ()

/// <summary>
/// numpy's <c>.npy</c> format: the magic <c>\x93NUMPY</c>, a version, a header dict
/// <c>{'descr': '&lt;f8', 'fortran_order': False, 'shape': (…), }</c> padded with spaces to a multiple of 64 bytes
/// and ending in a newline, then the raw data. Tensors are written as little-endian float64 (version 1.0); reading
/// accepts versions 1.0–3.0, either byte order, C or Fortran order, and the dtypes f8, f4, f2, i1–i8, u1–u8 and b1,
/// converted to float64 only where the conversion is exact: every float32, float16, 8/16/32-bit integer and bool is
/// exactly a float64; an int64 or uint64 element beyond 2⁵³ that has no exact float64 is rejected (naming the source,
/// the dtype and the value) rather than rounded. Reading is strict and checks sizes before allocating: a bad magic,
/// an unknown dtype, a malformed header (or one longer than 1 MiB), a shape of more elements than an array can hold,
/// or a data length that does not match the shape raise an <see cref="T:System.IO.InvalidDataException"/> naming
/// the source and the problem.
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Npy =
    let private magic = [| 0x93uy; byte 'N'; byte 'U'; byte 'M'; byte 'P'; byte 'Y' |]

    /// The longest header read (numpy's own headers are 128 bytes, or a little more for very long shapes).
    [<Literal>]
    let internal MaxHeaderBytes = 1048576

    let private bad (source: string) (message: string) : 'a =
        raise (InvalidDataException($"{source}: {message}"))

    /// The header text of a float64 C-order array of the given shape, without padding.
    let private headerDict (shape: int[]) =
        let dims =
            match shape.Length with
            | 0 -> "()"
            | 1 -> $"({shape.[0]},)"
            | _ -> "(" + String.Join(", ", shape) + ")"

        "{'descr': '<f8', 'fortran_order': False, 'shape': " + dims + ", }"

    /// <summary>The <c>.npy</c> bytes of a tensor: version 1.0 (2.0 if the header needs it), '&lt;f8', C order.</summary>
    let toBytes (t: Tensor) : byte[] =
        if isNull (box t) then
            Guard.fail "Npy.toBytes" "t" "the tensor must not be null."

        let dict = headerDict t.Dims
        // magic (6) + version (2) + length (2 or 4) + dict + padding + '\n' is a multiple of 64.
        let pre1 = 10
        let total1 = (pre1 + dict.Length + 1 + 63) / 64 * 64
        let v2 = total1 - pre1 > 65535
        let pre = if v2 then 12 else 10
        let total = (pre + dict.Length + 1 + 63) / 64 * 64
        let headerLen = total - pre
        let header = dict.PadRight(headerLen - 1) + "\n"
        let data = t.Data
        let out = Array.zeroCreate<byte>(total + 8 * data.Length)
        Array.blit magic 0 out 0 6
        out.[6] <- if v2 then 2uy else 1uy
        out.[7] <- 0uy

        if v2 then
            BinaryPrimitives.WriteUInt32LittleEndian(Span(out, 8, 4), uint32 headerLen)
        else
            BinaryPrimitives.WriteUInt16LittleEndian(Span(out, 8, 2), uint16 headerLen)

        Encoding.ASCII.GetBytes(header, 0, header.Length, out, pre) |> ignore

        if BitConverter.IsLittleEndian then
            Buffer.BlockCopy(data, 0, out, total, 8 * data.Length)
        else
            for i in 0 .. data.Length - 1 do
                BinaryPrimitives.WriteDoubleLittleEndian(Span(out, total + 8 * i, 8), data.[i])

        out

    // ---- header parsing: the Python literal subset numpy writes ----

    type private Value =
        | Str of string
        | Bool of bool
        | Tuple of int64 list

    let private parseHeader (source: string) (text: string) : Map<string, Value> =
        let n = text.Length
        let mutable i = 0

        let fail (what: string) =
            bad source $"malformed header {text.TrimEnd()} ({what} at character {i})."

        let skipWs () =
            while i < n && Char.IsWhiteSpace text.[i] do
                i <- i + 1

        let expect (c: char) =
            skipWs ()

            if i >= n || text.[i] <> c then
                fail $"expected '{c}'"

            i <- i + 1

        let parseString () =
            skipWs ()

            if i >= n || (text.[i] <> '\'' && text.[i] <> '"') then
                fail "expected a string"

            let q = text.[i]
            i <- i + 1
            let start = i

            while i < n && text.[i] <> q do
                i <- i + 1

            if i >= n then
                fail "unterminated string"

            let s = text.Substring(start, i - start)
            i <- i + 1
            s

        let parseInt () =
            skipWs ()
            let start = i

            while i < n && Char.IsDigit text.[i] do
                i <- i + 1

            if i = start then
                fail "expected a non-negative integer"

            let digits = text.Substring(start, i - start)

            // Python 2 headers may write 3L.
            if i < n && text.[i] = 'L' then
                i <- i + 1

            match Int64.TryParse digits with
            | true, v -> v
            | _ -> fail $"integer {digits} is too large"

        let parseValue () =
            skipWs ()

            if i < n && (text.[i] = '\'' || text.[i] = '"') then
                Str(parseString ())
            elif String.CompareOrdinal(text, i, "True", 0, 4) = 0 then
                i <- i + 4
                Bool true
            elif String.CompareOrdinal(text, i, "False", 0, 5) = 0 then
                i <- i + 5
                Bool false
            elif i < n && text.[i] = '(' then
                i <- i + 1
                let items = Collections.Generic.List<int64>()
                skipWs ()

                while i < n && text.[i] <> ')' do
                    items.Add(parseInt ())
                    skipWs ()

                    if i < n && text.[i] = ',' then
                        i <- i + 1
                        skipWs ()
                    elif i < n && text.[i] <> ')' then
                        fail "expected ',' or ')' in the shape"

                expect ')'
                Tuple(List.ofSeq items)
            else
                fail "expected a string, True, False or a tuple"

        expect '{'
        let mutable entries = Map.empty
        skipWs ()

        while i < n && text.[i] <> '}' do
            let key = parseString ()

            if entries.ContainsKey key then
                fail $"duplicate key '{key}'"

            expect ':'
            entries <- entries.Add(key, parseValue ())
            skipWs ()

            if i < n && text.[i] = ',' then
                i <- i + 1
                skipWs ()
            elif i < n && text.[i] <> '}' then
                fail "expected ',' or '}'"

        expect '}'
        skipWs ()

        if i <> n then
            fail "unexpected text after the dict"

        entries

    /// The element reader of a dtype: item size and a function reading element k of the data span.
    let private reader (source: string) (descr: string) : int * (byte[] -> int -> float) =
        if descr.Length < 2 then
            bad source $"unsupported dtype '{descr}'."

        let order, code =
            match descr.[0] with
            | '<'
            | '>'
            | '|'
            | '=' -> descr.[0], descr.Substring 1
            | _ -> '=', descr

        let little =
            match order with
            | '<' -> true
            | '>' -> false
            | _ -> BitConverter.IsLittleEndian

        let inexact (v: string) : float =
            bad source $"element {v} of dtype '{descr}' has no exact float64 (beyond 2^53); convert the array first."

        // 2⁶³ and 2⁶⁴ are the first floats beyond the ranges: below them the round trip decides.
        let exactInt64 (v: int64) =
            let f = float v

            if f < 9.2233720368547758e18 && int64 f = v then
                f
            else
                inexact (string v)

        let exactUInt64 (v: uint64) =
            let f = float v

            if f < 1.8446744073709552e19 && uint64 f = v then
                f
            else
                inexact (string v)

        let f: (byte[] -> int -> float) option =
            match code, little with
            | "f8", true -> Some(fun b o -> BinaryPrimitives.ReadDoubleLittleEndian(ReadOnlySpan(b, o, 8)))
            | "f8", false -> Some(fun b o -> BinaryPrimitives.ReadDoubleBigEndian(ReadOnlySpan(b, o, 8)))
            | "f4", true -> Some(fun b o -> float (BinaryPrimitives.ReadSingleLittleEndian(ReadOnlySpan(b, o, 4))))
            | "f4", false -> Some(fun b o -> float (BinaryPrimitives.ReadSingleBigEndian(ReadOnlySpan(b, o, 4))))
            | "f2", true -> Some(fun b o -> float (BinaryPrimitives.ReadHalfLittleEndian(ReadOnlySpan(b, o, 2))))
            | "f2", false -> Some(fun b o -> float (BinaryPrimitives.ReadHalfBigEndian(ReadOnlySpan(b, o, 2))))
            | "i8", true -> Some(fun b o -> exactInt64 (BinaryPrimitives.ReadInt64LittleEndian(ReadOnlySpan(b, o, 8))))
            | "i8", false -> Some(fun b o -> exactInt64 (BinaryPrimitives.ReadInt64BigEndian(ReadOnlySpan(b, o, 8))))
            | "i4", true -> Some(fun b o -> float (BinaryPrimitives.ReadInt32LittleEndian(ReadOnlySpan(b, o, 4))))
            | "i4", false -> Some(fun b o -> float (BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(b, o, 4))))
            | "i2", true -> Some(fun b o -> float (BinaryPrimitives.ReadInt16LittleEndian(ReadOnlySpan(b, o, 2))))
            | "i2", false -> Some(fun b o -> float (BinaryPrimitives.ReadInt16BigEndian(ReadOnlySpan(b, o, 2))))
            | "u8", true ->
                Some(fun b o -> exactUInt64 (BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan(b, o, 8))))
            | "u8", false -> Some(fun b o -> exactUInt64 (BinaryPrimitives.ReadUInt64BigEndian(ReadOnlySpan(b, o, 8))))
            | "u4", true -> Some(fun b o -> float (BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(b, o, 4))))
            | "u4", false -> Some(fun b o -> float (BinaryPrimitives.ReadUInt32BigEndian(ReadOnlySpan(b, o, 4))))
            | "u2", true -> Some(fun b o -> float (BinaryPrimitives.ReadUInt16LittleEndian(ReadOnlySpan(b, o, 2))))
            | "u2", false -> Some(fun b o -> float (BinaryPrimitives.ReadUInt16BigEndian(ReadOnlySpan(b, o, 2))))
            | "i1", _ -> Some(fun b o -> float (sbyte b.[o]))
            | "u1", _ -> Some(fun b o -> float b.[o])
            | "b1", _ -> Some(fun b o -> if b.[o] <> 0uy then 1.0 else 0.0)
            | _ -> None

        match f with
        | None ->
            bad
                source
                $"unsupported dtype '{descr}' (supported: f8, f4, f2, i1, i2, i4, i8, u1, u2, u4, u8, b1 in either byte order)."
        | Some read -> int (code.Substring 1), read

    /// The fixed prefix of a .npy file: (prefix length, header length), from its first 12 bytes (or fewer).
    let internal prefix (source: string) (bytes: byte[]) (available: int) =
        if available < 10 then
            bad source $"not a .npy array: {available} bytes is shorter than the smallest header."

        if bytes.[0..5] <> magic then
            bad source "not a .npy array: the file does not start with the magic \\x93NUMPY."

        let major, minor = bytes.[6], bytes.[7]

        let pre, headerLen =
            match major, minor with
            | 1uy, 0uy -> 10, int (BinaryPrimitives.ReadUInt16LittleEndian(ReadOnlySpan(bytes, 8, 2)))
            | (2uy | 3uy), 0uy ->
                if available < 12 then
                    bad source "truncated .npy header."

                let l = BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(bytes, 8, 4))

                if l > uint32 MaxHeaderBytes then
                    bad source $"header length {l} is larger than {MaxHeaderBytes} bytes."

                12, int l
            | _ -> bad source $"unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)."

        pre, headerLen

    type internal Header = {
        /// Bytes before the data: prefix and header.
        DataStart: int
        Descr: string
        Fortran: bool
        Shape: int[]
        Count: int
        ItemSize: int
        Read: byte[] -> int -> float
    } with

        /// The size of the whole .npy file this header describes.
        member h.TotalBytes = int64 h.DataStart + int64 h.Count * int64 h.ItemSize

    /// Parses the prefix and header of .npy bytes (the first `available` of them): checks the shape's element count
    /// against what an array can hold, before anything of that size is allocated.
    let internal header (source: string) (bytes: byte[]) (available: int) : Header =
        let pre, headerLen = prefix source bytes available

        if int64 pre + int64 headerLen > int64 available then
            bad source $"truncated .npy header: it declares {headerLen} bytes, {available - pre} are present."

        let encoding = if bytes.[6] = 3uy then Encoding.UTF8 else Encoding.Latin1
        let text = encoding.GetString(bytes, pre, headerLen)
        let dict = parseHeader source text

        for key in dict.Keys do
            if key <> "descr" && key <> "fortran_order" && key <> "shape" then
                bad source $"unexpected header key '{key}'."

        let descr =
            match dict.TryFind "descr" with
            | Some(Str d) -> d
            | Some _ -> bad source "the header's 'descr' must be a dtype string such as '<f8'."
            | None -> bad source "the header has no 'descr'."

        let fortran =
            match dict.TryFind "fortran_order" with
            | Some(Bool b) -> b
            | Some _ -> bad source "the header's 'fortran_order' must be True or False."
            | None -> bad source "the header has no 'fortran_order'."

        let dims =
            match dict.TryFind "shape" with
            | Some(Tuple d) -> d
            | Some _ -> bad source "the header's 'shape' must be a tuple of integers."
            | None -> bad source "the header has no 'shape'."

        let itemSize, read = reader source descr

        let shapeText = "(" + String.Join(", ", dims) + ")"

        if List.exists (fun d -> d > int64 Int32.MaxValue) dims then
            bad source $"shape {shapeText} has a dimension larger than {Int32.MaxValue}."

        let count = Guard.product64 dims

        if count > Guard.maxElements then
            bad source $"shape {shapeText} has more elements than an array can hold ({Guard.maxElements})."

        {
            DataStart = pre + headerLen
            Descr = descr
            Fortran = fortran
            Shape = dims |> List.map int |> Array.ofList
            Count = int count
            ItemSize = itemSize
            Read = read
        }

    /// Parses .npy bytes; messages name the source (a path, or an archive entry). float64Only: reject any other
    /// dtype, naming it (checkpoints, which this library writes as float64 only).
    let internal parseWith (float64Only: bool) (source: string) (bytes: byte[]) : Tensor =
        if isNull (box bytes) then
            Guard.fail "Npy.ofBytes" "bytes" "the bytes must not be null."

        let h = header source bytes bytes.Length
        let dims = "(" + String.Join(", ", h.Shape) + ")"
        let descr = h.Descr

        if float64Only && descr.TrimStart([| '<'; '>'; '|'; '=' |]) <> "f8" then
            bad source $"dtype '{descr}' is not float64 ('<f8'); a checkpoint holds float64 arrays only."

        let expected = int64 h.Count * int64 h.ItemSize
        let present = int64 bytes.Length - int64 h.DataStart

        if present < expected then
            bad source $"truncated .npy data: shape {dims} of '{descr}' needs {expected} bytes, {present} are present."

        if present > expected then
            bad source $"{present - expected} unexpected bytes after the data of shape {dims} '{descr}'."

        let data = Array.zeroCreate h.Count
        let start = h.DataStart

        if descr = "<f8" && BitConverter.IsLittleEndian then
            Buffer.BlockCopy(bytes, start, data, 0, int expected)
        else
            for k in 0 .. data.Length - 1 do
                data.[k] <- h.Read bytes (start + k * h.ItemSize)

        let shape = h.Shape

        if h.Fortran && shape.Length > 1 then
            // Column-major data is the row-major layout of the reversed shape; transposing restores the order.
            Tensor.Wrap(Array.rev shape, data).Transpose([||])
        else
            Tensor.Wrap(shape, data)

    /// Parses .npy bytes of any supported dtype (converted exactly); messages name the source.
    let internal parse (source: string) (bytes: byte[]) : Tensor = parseWith false source bytes

    /// <summary>Reads .npy bytes into a tensor (any supported dtype converted exactly to float64, or rejected).
    /// Strict; see the module.</summary>
    let ofBytes (bytes: byte[]) : Tensor = parse "Npy.ofBytes" bytes

    /// <summary>Writes a tensor to a .npy file, atomically (temporary file, then rename).</summary>
    let save (path: string) (t: Tensor) =
        let bytes = toBytes t
        AtomicFile.write "Npy.save" path (fun s -> s.Write(bytes, 0, bytes.Length))

    /// <summary>Reads a .npy file into a tensor. Strict; see the module.</summary>
    let load (path: string) : Tensor =
        if String.IsNullOrWhiteSpace path then
            Guard.fail "Npy.load" "path" "the path must not be null or empty."

        parse path (File.ReadAllBytes path)

/// <summary>
/// numpy's <c>.npz</c> format: a zip archive of <c>.npy</c> arrays, one entry <c>name.npy</c> per array (numpy's
/// <c>np.load</c> gives them back by <c>name</c>). Writing is atomic; reading verifies every entry's CRC-32 and
/// parses every array strictly.
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Npz =
    let private bad (source: string) (message: string) : 'a =
        raise (InvalidDataException($"{source}: {message}"))

    let internal checkName (fn: string) (name: string) =
        if String.IsNullOrEmpty name then
            Guard.fail fn "arrays" "array names must not be empty."

        if
            name.StartsWith "/"
            || name.Contains "\\"
            || name.Split('/') |> Array.exists (fun p -> p = "" || p = "." || p = "..")
        then
            Guard.fail fn "arrays" $"invalid array name '{name}' (use names such as 'W1' or 'params/W1')."

    /// Writes raw entries (name → bytes) into a zip archive at path, atomically.
    let internal writeEntries (fn: string) (path: string) (entries: (string * byte[]) list) =
        let names = entries |> List.map fst

        if List.length (List.distinct names) <> List.length names then
            Guard.fail fn "arrays" "array names must be distinct."

        AtomicFile.write fn path (fun stream ->
            use zip = new ZipArchive(stream, ZipArchiveMode.Create, true)

            for name, bytes in entries do
                let e = zip.CreateEntry(name, CompressionLevel.NoCompression)
                use s = e.Open()
                s.Write(bytes, 0, bytes.Length))

    /// The most a deflate stream expands (1032:1, zlib's technical notes): an entry declaring more than this times
    /// its compressed size lies about its size.
    let private maxDeflateRatio = 1032L

    /// The largest entry that is not an array (checkpoint.json and the like).
    let internal MaxOtherEntryBytes = 1L <<< 26

    /// Reads up to count bytes into buf at off; returns how many were read (fewer only at the end of the stream).
    let private readUpTo (s: Stream) (buf: byte[]) (off: int) (count: int) =
        s.ReadAtLeast(Span(buf, off, count), count, false)

    /// The bytes of one entry, read defensively: the declared size is checked against what its compressed size can
    /// expand to and, for a .npy entry, against the size its header describes, all before the entry's buffer is
    /// allocated; then exactly that many bytes are read (a stream that holds more or fewer is rejected) and the
    /// CRC-32 is verified.
    let private readEntry (path: string) (e: ZipArchiveEntry) =
        let name = e.FullName
        let declared = e.Length

        if declared > (e.CompressedLength + 1L) * maxDeflateRatio then
            bad
                path
                $"entry '{name}' declares {declared} bytes, more than its {e.CompressedLength} compressed bytes can hold."

        let limit =
            if name.EndsWith ".npy" then
                min (int64 Array.MaxLength) (12L + int64 Npy.MaxHeaderBytes + Guard.maxElements * 8L)
            else
                MaxOtherEntryBytes

        if declared > limit then
            bad path $"entry '{name}' declares {declared} bytes, more than the {limit} it may hold."

        use s = e.Open()
        let size = int declared

        let data =
            if name.EndsWith ".npy" && size >= 10 then
                // The prefix, then the header: the size they describe must be the declared size.
                let first = Array.zeroCreate 12
                let got = readUpTo s first 0 (min 12 size)
                let pre, headerLen = Npy.prefix $"{path}[{name}]" first got
                let headLength = min size (pre + headerLen)
                let head = Array.zeroCreate headLength
                Array.blit first 0 head 0 got
                let got = got + readUpTo s head got (headLength - got)
                let h = Npy.header $"{path}[{name}]" head got

                if h.TotalBytes <> declared then
                    let shape = String.Join(", ", h.Shape)

                    bad
                        path
                        $"entry '{name}' declares {declared} bytes, its .npy header (shape ({shape}), '{h.Descr}') describes {h.TotalBytes}."

                let data = Array.zeroCreate size
                Array.blit head 0 data 0 got

                if readUpTo s data got (size - got) <> size - got then
                    bad path $"entry '{name}' is truncated: it declares {declared} bytes."

                data
            else
                let data = Array.zeroCreate size

                if readUpTo s data 0 size <> size then
                    bad path $"entry '{name}' is truncated: it declares {declared} bytes."

                data

        if s.ReadByte() <> -1 then
            bad path $"entry '{name}' holds more bytes than the {declared} its header says."

        if System.IO.Hashing.Crc32.HashToUInt32(ReadOnlySpan data) <> e.Crc32 then
            bad path $"entry '{name}' is corrupted (CRC-32 mismatch)."

        data

    /// Reads every entry of a zip archive (name → bytes), verifying sizes and CRC-32s (see readEntry).
    let internal readEntries (path: string) : Map<string, byte[]> =
        let bytes = File.ReadAllBytes path

        let zip =
            try
                new ZipArchive(new MemoryStream(bytes, false), ZipArchiveMode.Read)
            with :? InvalidDataException as e ->
                bad path $"not a zip (.npz) archive, or a truncated one: {e.Message}"

        use zip = zip

        try
            zip.Entries
            |> Seq.fold
                (fun (acc: Map<string, byte[]>) e ->
                    if acc.ContainsKey e.FullName then
                        bad path $"the archive holds two entries named '{e.FullName}'."

                    acc.Add(e.FullName, readEntry path e))
                Map.empty
        with :? InvalidDataException as e when not (e.Message.StartsWith path) ->
            bad path $"corrupted zip (.npz) archive: {e.Message}"

    /// <summary>
    /// Writes named tensors to an .npz archive at path, atomically: entry <c>name.npy</c> per array. Names may hold
    /// '/' (e.g. "params/W1") but no empty, '.' or '..' parts.
    /// </summary>
    let save (path: string) (arrays: Map<string, Tensor>) =
        if isNull (box arrays) then
            Guard.fail "Npz.save" "arrays" "arrays must not be null."

        let entries =
            arrays
            |> Map.toList
            |> List.map (fun (name, t) ->
                checkName "Npz.save" name

                if isNull (box t) then
                    Guard.fail "Npz.save" "arrays" $"array '{name}' is null."

                name + ".npy", Npy.toBytes t)

        writeEntries "Npz.save" path entries

    /// <summary>
    /// Reads every <c>.npy</c> entry of an .npz archive, by name without the extension (other entries are skipped).
    /// A truncated or corrupted archive or array raises an <see cref="T:System.IO.InvalidDataException"/>.
    /// </summary>
    let load (path: string) : Map<string, Tensor> =
        if String.IsNullOrWhiteSpace path then
            Guard.fail "Npz.load" "path" "the path must not be null or empty."

        readEntries path
        |> Map.toSeq
        |> Seq.filter (fun (name, _) -> name.EndsWith ".npy")
        |> Seq.map (fun (name, bytes) -> name.Substring(0, name.Length - 4), Npy.parse $"{path}[{name}]" bytes)
        |> Map.ofSeq
