/*
 * PostgreSQL staging writes through the JDBC driver's COPY API (lakeprep/db/load.py).
 *
 * Spark's JDBC writer sends rows as batched INSERTs: every value is converted to a Java object,
 * bound as a statement parameter and parsed again by the server, which cost ~3x the time of COPY
 * for the same rows over the same connections (docs/BENCHMARKS.md, section 4). Here each
 * partition opens one connection with the same URL and properties and streams its rows in
 * COPY's text format, written straight from Spark's internal rows: a string column's UTF-8
 * bytes are copied with COPY's four escapes, never decoded into Java strings.
 *
 * One COPY per partition is one transaction: a failed partition leaves none of its rows behind,
 * like a failed JDBC batch write; the caller deletes an earlier attempt's rows before a retry.
 */
package io.lakeprep.pg;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.Properties;

import org.apache.spark.api.java.function.VoidFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.TimestampNTZType;
import org.apache.spark.sql.types.TimestampType;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.types.UTF8String;
import org.apache.spark.util.LongAccumulator;
import org.postgresql.Driver;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

public final class CopyWriter implements VoidFunction<Iterator<InternalRow>> {
    private static final long serialVersionUID = 1L;
    // Bytes gathered before one CopyData message: few, large messages instead of one per row.
    private static final int FLUSH_BYTES = 1 << 16;

    private final String url;
    private final Properties properties;
    private final String sql;
    private final DataType[] types;
    // Each column's text form, decided once from its type (not per row).
    private final Kind[] kinds;
    private final LongAccumulator copied;

    /** The text forms the writer knows; a column of any other type is refused up front. */
    private enum Kind { TEXT, NUMBER, BOOLEAN, DECIMAL, TIMESTAMP, TIMESTAMP_NTZ, DATE, TEXT_ARRAY }

    private CopyWriter(String url, Properties properties, String sql, DataType[] types,
                       Kind[] kinds, LongAccumulator copied) {
        this.url = url;
        this.properties = properties;
        this.sql = sql;
        this.types = types;
        this.kinds = kinds;
        this.copied = copied;
    }

    /**
     * COPY every row of {@code df} into {@code table} (already quoted and schema-qualified), one
     * connection per partition; returns the rows the server reported copied. Columns are matched
     * by name. Fails before any row is sent when a column's type has no text form here.
     */
    public static long write(Dataset<Row> df, String url, Map<String, String> properties,
                             String table) {
        StructType schema = df.schema();
        DataType[] types = new DataType[schema.fields().length];
        Kind[] kinds = new Kind[types.length];
        StringBuilder columns = new StringBuilder();
        for (int i = 0; i < types.length; i++) {
            StructField field = schema.fields()[i];
            types[i] = field.dataType();
            kinds[i] = kind(field);
            columns.append(i == 0 ? "" : ", ").append('"')
                   .append(field.name().replace("\"", "\"\"")).append('"');
        }
        Properties props = new Properties();
        props.putAll(properties);
        String sql = "COPY " + table + " (" + columns + ") FROM STDIN";
        LongAccumulator copied = df.sparkSession().sparkContext().longAccumulator("pg copy rows");
        df.queryExecution().toRdd().toJavaRDD()
          .foreachPartition(new CopyWriter(url, props, sql, types, kinds, copied));
        return copied.value();
    }

    private static Kind kind(StructField field) {
        DataType t = field.dataType();
        if (t instanceof StringType) {
            return Kind.TEXT;
        } else if (t instanceof IntegerType || t instanceof LongType || t instanceof ShortType
                   || t instanceof ByteType || t instanceof DoubleType || t instanceof FloatType) {
            return Kind.NUMBER;
        } else if (t instanceof BooleanType) {
            return Kind.BOOLEAN;
        } else if (t instanceof DecimalType) {
            return Kind.DECIMAL;
        } else if (t instanceof TimestampType) {
            return Kind.TIMESTAMP;
        } else if (t instanceof TimestampNTZType) {
            return Kind.TIMESTAMP_NTZ;
        } else if (t instanceof DateType) {
            return Kind.DATE;
        } else if (t instanceof ArrayType && ((ArrayType) t).elementType() instanceof StringType) {
            return Kind.TEXT_ARRAY;
        }
        throw new IllegalArgumentException("column " + field.name() + " has type "
            + t.simpleString() + ", which the COPY writer does not write");
    }

    @Override
    public void call(Iterator<InternalRow> rows) throws SQLException, IOException {
        if (!rows.hasNext()) {
            return;  // no connection for an empty partition
        }
        // The driver itself rather than DriverManager: on a cluster the PostgreSQL jar comes with
        // --jars, in a class loader DriverManager does not search.
        Connection connection = new Driver().connect(url, properties);
        if (connection == null) {
            throw new SQLException("not a PostgreSQL JDBC URL: " + url);
        }
        try (Connection conn = connection) {
            CopyIn copy = conn.unwrap(PGConnection.class).getCopyAPI().copyIn(sql);
            try {
                Buffer out = new Buffer(FLUSH_BYTES * 2);
                Buffer scratch = new Buffer(256);
                while (rows.hasNext()) {
                    InternalRow row = rows.next();
                    for (int i = 0; i < types.length; i++) {
                        if (i > 0) {
                            out.put((byte) '\t');
                        }
                        field(row, i, out, scratch);
                    }
                    out.put((byte) '\n');
                    if (out.size >= FLUSH_BYTES) {
                        copy.writeToCopy(out.bytes, 0, out.size);
                        out.size = 0;
                    }
                }
                if (out.size > 0) {
                    copy.writeToCopy(out.bytes, 0, out.size);
                }
                copied.add(copy.endCopy());
            } finally {
                if (copy.isActive()) {
                    copy.cancelCopy();
                }
            }
        }
    }

    private void field(InternalRow row, int i, Buffer out, Buffer scratch) {
        if (row.isNullAt(i)) {
            out.ascii("\\N");
            return;
        }
        switch (kinds[i]) {
            case TEXT:
                escaped(row.getUTF8String(i), out);
                break;
            case NUMBER:
                // Java's decimal spelling; NaN, Infinity and -Infinity as PostgreSQL's float
                // input reads them.
                out.ascii(String.valueOf(row.get(i, types[i])));
                break;
            case BOOLEAN:
                out.put((byte) (row.getBoolean(i) ? 't' : 'f'));
                break;
            case DECIMAL:
                DecimalType d = (DecimalType) types[i];
                out.ascii(row.getDecimal(i, d.precision(), d.scale()).toJavaBigDecimal()
                             .toPlainString());
                break;
            case TIMESTAMP:
                // Microseconds since the epoch in UTC, written with its offset (Z): the server's
                // session time zone cannot shift it.
                long micros = row.getLong(i);
                out.ascii(Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L),
                    Math.floorMod(micros, 1_000_000L) * 1_000L).toString());
                break;
            case TIMESTAMP_NTZ:
                long local = row.getLong(i);
                out.ascii(LocalDateTime.ofEpochSecond(Math.floorDiv(local, 1_000_000L),
                    (int) (Math.floorMod(local, 1_000_000L) * 1_000L), ZoneOffset.UTC).toString());
                break;
            case DATE:
                out.ascii(LocalDate.ofEpochDay(row.getInt(i)).toString());
                break;
            default:
                textArray(row.getArray(i), out, scratch);
        }
    }

    /** A text[] literal ({"a","b",NULL}), then escaped for COPY like any other text. */
    private static void textArray(ArrayData array, Buffer out, Buffer scratch) {
        scratch.size = 0;
        scratch.put((byte) '{');
        for (int j = 0; j < array.numElements(); j++) {
            if (j > 0) {
                scratch.put((byte) ',');
            }
            if (array.isNullAt(j)) {
                scratch.ascii("NULL");
                continue;
            }
            scratch.put((byte) '"');
            byte[] element = array.getUTF8String(j).getBytes();
            for (byte b : element) {
                if (b == '"' || b == '\\') {
                    scratch.put((byte) '\\');
                }
                scratch.put(b);
            }
            scratch.put((byte) '"');
        }
        scratch.put((byte) '}');
        escaped(scratch.bytes, 0, scratch.size, out);
    }

    private static void escaped(UTF8String s, Buffer out) {
        // Read in place when the string lives in a byte[] (the rows of cached and scanned
        // frames): no copy of the content before the one into the buffer.
        if (s.getBaseObject() instanceof byte[]) {
            int from = (int) (s.getBaseOffset() - Platform.BYTE_ARRAY_OFFSET);
            escaped((byte[]) s.getBaseObject(), from, from + s.numBytes(), out);
        } else {
            byte[] bytes = s.getBytes();
            escaped(bytes, 0, bytes.length, out);
        }
    }

    /**
     * COPY text format: backslash, newline, carriage return and tab are the only bytes with a
     * meaning inside a field. UTF-8 continuation and lead bytes are all >= 0x80, so a byte-wise
     * scan never splits a character. The runs between those bytes are copied in bulk.
     */
    private static void escaped(byte[] bytes, int from, int to, Buffer out) {
        out.reserve(2 * (to - from));
        byte[] dst = out.bytes;
        int n = out.size;
        int run = from;
        for (int k = from; k < to; k++) {
            byte b = bytes[k];
            byte code;
            switch (b) {
                case '\\': code = '\\'; break;
                case '\n': code = 'n'; break;
                case '\r': code = 'r'; break;
                case '\t': code = 't'; break;
                default: continue;
            }
            System.arraycopy(bytes, run, dst, n, k - run);
            n += k - run;
            dst[n++] = '\\';
            dst[n++] = code;
            run = k + 1;
        }
        System.arraycopy(bytes, run, dst, n, to - run);
        out.size = n + to - run;
    }

    /** A growable byte array (ByteArrayOutputStream without its synchronization and copies). */
    private static final class Buffer {
        byte[] bytes;
        int size;

        Buffer(int capacity) {
            bytes = new byte[capacity];
        }

        void reserve(int more) {
            if (size + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
            }
        }

        void put(byte b) {
            reserve(1);
            bytes[size++] = b;
        }

        void ascii(String s) {
            byte[] b = s.getBytes(StandardCharsets.US_ASCII);
            reserve(b.length);
            System.arraycopy(b, 0, bytes, size, b.length);
            size += b.length;
        }
    }
}
