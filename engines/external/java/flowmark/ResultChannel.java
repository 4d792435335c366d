package flowmark;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A sink's connection to the harness: results as they are produced (timestamped by the
 * harness on arrival), and the two-phase commit around them. {@link #precommit} returns once
 * the harness has made the results sent so far durable; {@link #commit} makes every
 * pre-committed epoch up to its argument visible.
 *
 * <p>Results are buffered and sent at the latest one millisecond after they were written (the
 * role of a network buffer timeout), so a burst of window results costs one write.
 */
public final class ResultChannel implements AutoCloseable {
    private final Socket socket;
    private final BufferedOutputStream out;
    private final BufferedReader in;
    private final Thread flusher;
    private boolean dirty;
    private volatile boolean closed;

    public ResultChannel(String address) throws IOException {
        this(address, -1);
    }

    /**
     * A result stream of the job's attempt {@code attempt} (the engine's own restarts count
     * them; -1: not named, the job is never restarted inside its process).
     */
    public ResultChannel(String address, int attempt) throws IOException {
        int colon = address.lastIndexOf(':');
        socket = new Socket(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
        socket.setTcpNoDelay(true);
        out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
        in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
        send(attempt < 0 ? "SINK\n" : "SINK " + attempt + "\n");
        flushNow();
        flusher = new Thread(() -> {
            while (!closed) {
                try {
                    Thread.sleep(1);
                    synchronized (this) {
                        if (dirty) {
                            out.flush();
                            dirty = false;
                        }
                    }
                } catch (InterruptedException | IOException e) {
                    return;
                }
            }
        }, "flowmark-result-flusher");
        flusher.setDaemon(true);
        flusher.start();
    }

    /** Sends one result: its sink, identity and value. */
    public synchronized void result(String sink, String id, String value) throws IOException {
        send("D\t" + sink + "\t" + id + "\t" + value + "\n");
        dirty = true;
    }

    /** The results sent so far belong to {@code epoch}; returns once the harness has them. */
    public synchronized void precommit(long epoch) throws IOException {
        send("P " + epoch + "\n");
        flushNow();
        String ack = in.readLine();
        if (!"A".equals(ack)) {
            throw new IOException("the harness did not acknowledge pre-commit " + epoch + ": " + ack);
        }
    }

    /**
     * The engine's own measure of when {@code epoch} started: {@code agoNanos} before now (the
     * harness takes it as the checkpoint's trigger when no source reported one).
     */
    public synchronized void triggered(long epoch, long agoNanos) throws IOException {
        send("T " + epoch + " " + agoNanos + "\n");
        dirty = true;
    }

    /**
     * The engine restarted the job (this channel's attempt) from the checkpoint that covers
     * {@code epoch}, or from none when it is negative.
     */
    public synchronized void restarted(long epoch) throws IOException {
        send("X " + (epoch < 0 ? "-" : String.valueOf(epoch)) + "\n");
        flushNow();
    }

    /** Epochs up to {@code epoch} are committed. */
    public synchronized void commit(long epoch) throws IOException {
        send("C " + epoch + "\n");
        flushNow();
    }

    private void send(String line) throws IOException {
        out.write(line.getBytes(StandardCharsets.UTF_8));
    }

    private void flushNow() throws IOException {
        out.flush();
        dirty = false;
    }

    @Override
    public synchronized void close() throws IOException {
        closed = true;
        out.flush();
        socket.close();
    }
}
