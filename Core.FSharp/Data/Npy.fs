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

/// CRC-32 (IEEE 802.3, as in zip archives), to verify archive entries: .NET's zip reader does not check them.
module internal Crc32 =
    let private table =
        Array.init 256 (fun n ->
            let mutable c = uint32 n

            for _ in 0..7 do
                c <-
                    if c &&& 1u <> 0u then
                        0xEDB88320u ^^^ (c >>> 1)
                    else
                        c >>> 1

            c)

    let compute (data: byte[]) =
        let mutable c = 0xFFFFFFFFu

        for b in data do
            c <- table.[int ((c ^^^ uint32 b) &&& 0xFFu)] ^^^ (c >>> 8)

        c ^^^ 0xFFFFFFFFu

/// <summary>
/// numpy's <c>.npy</c> format: the magic <c>\x93NUMPY</c>, a version, a header dict
/// <c>{'descr': '&lt;f8', 'fortran_order': False, 'shape': (…), }</c> padded with spaces to a multiple of 64 bytes
/// and ending in a newline, then the raw data. Tensors are written as little-endian float64 (version 1.0); reading
/// accepts versions 1.0–3.0, either byte order, C or Fortran order, and the dtypes f8, f4, f2, i1–i8, u1–u8 and b1
/// (converted to float). Reading is strict: a bad magic, an unknown dtype, a malformed header or a data length that
/// does not match the shape raise an <see cref="T:System.IO.InvalidDataException"/> naming the source and the problem.
/// </summary>
[<RequireQualifiedAccess>]
module Npy =
    let private magic = [| 0x93uy; byte 'N'; byte 'U'; byte 'M'; byte 'P'; byte 'Y' |]

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

        let f: (byte[] -> int -> float) option =
            match code, little with
            | "f8", true -> Some(fun b o -> BinaryPrimitives.ReadDoubleLittleEndian(ReadOnlySpan(b, o, 8)))
            | "f8", false -> Some(fun b o -> BinaryPrimitives.ReadDoubleBigEndian(ReadOnlySpan(b, o, 8)))
            | "f4", true -> Some(fun b o -> float (BinaryPrimitives.ReadSingleLittleEndian(ReadOnlySpan(b, o, 4))))
            | "f4", false -> Some(fun b o -> float (BinaryPrimitives.ReadSingleBigEndian(ReadOnlySpan(b, o, 4))))
            | "f2", true -> Some(fun b o -> float (BinaryPrimitives.ReadHalfLittleEndian(ReadOnlySpan(b, o, 2))))
            | "f2", false -> Some(fun b o -> float (BinaryPrimitives.ReadHalfBigEndian(ReadOnlySpan(b, o, 2))))
            | "i8", true -> Some(fun b o -> float (BinaryPrimitives.ReadInt64LittleEndian(ReadOnlySpan(b, o, 8))))
            | "i8", false -> Some(fun b o -> float (BinaryPrimitives.ReadInt64BigEndian(ReadOnlySpan(b, o, 8))))
            | "i4", true -> Some(fun b o -> float (BinaryPrimitives.ReadInt32LittleEndian(ReadOnlySpan(b, o, 4))))
            | "i4", false -> Some(fun b o -> float (BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(b, o, 4))))
            | "i2", true -> Some(fun b o -> float (BinaryPrimitives.ReadInt16LittleEndian(ReadOnlySpan(b, o, 2))))
            | "i2", false -> Some(fun b o -> float (BinaryPrimitives.ReadInt16BigEndian(ReadOnlySpan(b, o, 2))))
            | "u8", true -> Some(fun b o -> float (BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan(b, o, 8))))
            | "u8", false -> Some(fun b o -> float (BinaryPrimitives.ReadUInt64BigEndian(ReadOnlySpan(b, o, 8))))
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

    /// Parses .npy bytes; messages name the source (a path, or an archive entry).
    let internal parse (source: string) (bytes: byte[]) : Tensor =
        if isNull (box bytes) then
            Guard.fail "Npy.ofBytes" "bytes" "the bytes must not be null."

        if bytes.Length < 10 then
            bad source $"not a .npy array: {bytes.Length} bytes is shorter than the smallest header."

        if bytes.[0..5] <> magic then
            bad source "not a .npy array: the file does not start with the magic \\x93NUMPY."

        let major, minor = bytes.[6], bytes.[7]

        let pre, headerLen =
            match major, minor with
            | 1uy, 0uy -> 10, int (BinaryPrimitives.ReadUInt16LittleEndian(ReadOnlySpan(bytes, 8, 2)))
            | (2uy | 3uy), 0uy ->
                if bytes.Length < 12 then
                    bad source "truncated .npy header."

                let l = BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(bytes, 8, 4))

                if l > uint32 Int32.MaxValue then
                    bad source $"header length {l} is too large."

                12, int l
            | _ -> bad source $"unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)."

        if int64 pre + int64 headerLen > int64 bytes.Length then
            bad source $"truncated .npy header: it declares {headerLen} bytes, {bytes.Length - pre} are present."

        let encoding = if major = 3uy then Encoding.UTF8 else Encoding.Latin1
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

        let count =
            dims
            |> List.fold
                (fun (acc: int64) d ->
                    let p = acc * d

                    if
                        d > int64 Int32.MaxValue
                        || (d <> 0L && p / d <> acc)
                        || p > int64 Int32.MaxValue
                    then
                        bad source $"shape {dims} is too large."

                    p)
                1L

        let expected = count * int64 itemSize
        let present = int64 bytes.Length - int64 pre - int64 headerLen

        if present < expected then
            bad source $"truncated .npy data: shape {dims} of '{descr}' needs {expected} bytes, {present} are present."

        if present > expected then
            bad source $"{present - expected} unexpected bytes after the data of shape {dims} '{descr}'."

        let data = Array.zeroCreate (int count)
        let start = pre + headerLen

        if descr = "<f8" && BitConverter.IsLittleEndian then
            Buffer.BlockCopy(bytes, start, data, 0, int expected)
        else
            for k in 0 .. data.Length - 1 do
                data.[k] <- read bytes (start + k * itemSize)

        let shape = dims |> List.map int |> Array.ofList

        if fortran && shape.Length > 1 then
            // Column-major data is the row-major layout of the reversed shape; transposing restores the order.
            Tensor.Wrap(Array.rev shape, data).Transpose([||])
        else
            Tensor.Wrap(shape, data)

    /// <summary>Reads .npy bytes into a tensor (any supported dtype converted to float64). Strict; see the module.</summary>
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
[<RequireQualifiedAccess>]
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

    /// Reads every entry of a zip archive (name → bytes), verifying sizes and CRC-32s.
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

                    if e.Length > int64 Int32.MaxValue then
                        bad path $"entry '{e.FullName}' is too large ({e.Length} bytes)."

                    use s = e.Open()
                    use ms = new MemoryStream()
                    s.CopyTo ms
                    let data = ms.ToArray()

                    if int64 data.Length <> e.Length then
                        bad path $"entry '{e.FullName}' holds {data.Length} bytes, its header says {e.Length}."

                    if Crc32.compute data <> e.Crc32 then
                        bad path $"entry '{e.FullName}' is corrupted (CRC-32 mismatch)."

                    acc.Add(e.FullName, data))
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
