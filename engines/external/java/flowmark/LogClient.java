package flowmark;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A connection to the harness's log server: how many events of each partition exist now, and
 * a range of them. Every engine's source reads the run's log through this class; the engine
 * does the parsing.
 */
public final class LogClient implements AutoCloseable {
    /** One fetched event: its event time (nanoseconds of log time) and its JSON text. */
    public interface Consumer {
        void accept(long time, String json) throws Exception;
    }

    private final Socket socket;
    private final BufferedReader in;
    private final OutputStream out;

    public LogClient(String address) throws IOException {
        int colon = address.lastIndexOf(':');
        socket = new Socket(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
        socket.setTcpNoDelay(true);
        in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8), 1 << 16);
        out = socket.getOutputStream();
    }

    /** Events that exist now, per partition; the last element is 1 once the input has ended. */
    public long[] count() throws IOException {
        request("COUNT\n");
        String[] words = reply().split(" ");
        long[] counts = new long[words.length];
        for (int i = 1; i < words.length; i++) {
            counts[i - 1] = Long.parseLong(words[i]);
        }
        counts[words.length - 1] = Long.parseLong(words[0]);
        return counts;
    }

    /** Fetches entries [from, to) of a partition (cut at what exists); returns how many. */
    public long fetch(int partition, long from, long to, Consumer consumer) throws Exception {
        request("FETCH " + partition + " " + from + " " + to + "\n");
        long n = Long.parseLong(reply());
        for (long i = 0; i < n; i++) {
            String line = reply();
            int tab = line.indexOf('\t');
            consumer.accept(Long.parseLong(line, 0, tab, 10), line.substring(tab + 1));
        }
        return n;
    }

    /** Reports that a source took its snapshot for checkpoint {@code epoch}. */
    public void checkpoint(long epoch) throws IOException {
        request("CHECKPOINT " + epoch + "\n");
        String ack = reply();
        if (!ack.equals("A")) {
            throw new IOException("the log server did not acknowledge checkpoint " + epoch + ": " + ack);
        }
    }

    private void request(String line) throws IOException {
        out.write(line.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private String reply() throws IOException {
        String line = in.readLine();
        if (line == null) {
            throw new IOException("the log server closed the connection");
        }
        if (line.startsWith("ERR ")) {
            throw new IOException("the log server says: " + line.substring(4));
        }
        return line;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
