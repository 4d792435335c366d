package flowmark;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * The run's log, read from its servers: how many events of each partition exist now, and a
 * range of them. Every engine's source reads the log through this class; the engine does the
 * parsing.
 *
 * <p>The log may be served by several servers (a comma-separated list of {@code host:port}):
 * partition {@code p} is served by server {@code p mod N}. A connection to a server is opened
 * the first time it is needed, so that a reader of one partition talks to one server only.
 */
public final class LogClient implements AutoCloseable {
    /** One fetched event: its event time (nanoseconds of log time) and its JSON text. */
    public interface Consumer {
        void accept(long time, String json) throws Exception;
    }

    private final String[] addresses;
    private final Connection[] connections;

    public LogClient(String addresses) {
        this.addresses = addresses.split(",");
        this.connections = new Connection[this.addresses.length];
    }

    /**
     * Events that exist now, per partition (each as its own server counts them); the last
     * element is 1 once the input has ended on every server.
     */
    public long[] count() throws IOException {
        long[] counts = null;
        boolean done = true;
        for (int s = 0; s < addresses.length; s++) {
            String[] words = connection(s).request("COUNT\n").split(" ");
            if (counts == null) {
                counts = new long[words.length];
            } else if (counts.length != words.length) {
                throw new IOException("the log servers " + addresses[0] + " and " + addresses[s]
                        + " serve different numbers of partitions");
            }
            for (int p = s; p < words.length - 1; p += addresses.length) {
                counts[p] = Long.parseLong(words[p + 1]);
            }
            done &= words[0].equals("1");
        }
        counts[counts.length - 1] = done ? 1 : 0;
        return counts;
    }

    /** Fetches entries [from, to) of a partition (cut at what exists); returns how many. */
    public long fetch(int partition, long from, long to, Consumer consumer) throws Exception {
        Connection c = connection(partition % addresses.length);
        long n = Long.parseLong(c.request("FETCH " + partition + " " + from + " " + to + "\n"));
        for (long i = 0; i < n; i++) {
            String line = c.reply();
            int tab = line.indexOf('\t');
            consumer.accept(Long.parseLong(line, 0, tab, 10), line.substring(tab + 1));
        }
        return n;
    }

    /** Reports that a source took its snapshot for checkpoint {@code epoch} (to the first server). */
    public void checkpoint(long epoch) throws IOException {
        String ack = connection(0).request("CHECKPOINT " + epoch + "\n");
        if (!ack.equals("A")) {
            throw new IOException("the log server did not acknowledge checkpoint " + epoch + ": " + ack);
        }
    }

    /**
     * Reports that the engine noticed a failure (to the first server, the engine process's):
     * {@code agoNanos} ago, named by {@code key} (the first report of a key counts), and
     * whether the engine stopped reading its input to recover.
     */
    public void failure(String key, long agoNanos, boolean inputStops) throws IOException {
        String ack = connection(0).request("FAILURE " + key + " " + Math.max(0, agoNanos) + " " + (inputStops ? 1 : 0) + "\n");
        if (!ack.equals("A")) {
            throw new IOException("the log server did not acknowledge failure " + key + ": " + ack);
        }
    }

    private Connection connection(int server) throws IOException {
        if (connections[server] == null) {
            connections[server] = new Connection(addresses[server]);
        }
        return connections[server];
    }

    @Override
    public void close() throws IOException {
        IOException failed = null;
        for (Connection c : connections) {
            try {
                if (c != null) {
                    c.socket.close();
                }
            } catch (IOException e) {
                failed = e;
            }
        }
        if (failed != null) {
            throw failed;
        }
    }

    /** One server's connection: one request line, then its reply lines. */
    private static final class Connection {
        final String address;
        final Socket socket;
        final BufferedReader in;
        final OutputStream out;

        Connection(String address) throws IOException {
            this.address = address;
            int colon = address.lastIndexOf(':');
            socket = new Socket(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
            socket.setTcpNoDelay(true);
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8), 1 << 16);
            out = socket.getOutputStream();
        }

        /** Sends a request; returns the first line of its reply. */
        String request(String line) throws IOException {
            out.write(line.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return reply();
        }

        String reply() throws IOException {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("the log server " + address + " closed the connection");
            }
            if (line.startsWith("ERR ")) {
                throw new IOException("the log server " + address + " says: " + line.substring(4));
            }
            return line;
        }
    }
}
