import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Publishes events (docs/events.md) to the store-events topic with the plain Kafka Java client:
 * one JSON event per line of an NDJSON file, one message per event.
 *
 * <p>Needs only kafka-clients (and its slf4j-api) on the class path; run it without a build:
 *
 * <pre>
 * java -cp 'kafka-clients-4.1.0.jar:slf4j-api-1.7.36.jar' PublishEvents.java \
 *     127.0.0.1:9092 store-events events.ndjson keyed
 * </pre>
 *
 * <p>The last argument says which messages carry a key: {@code keyed} (the store id, the usual
 * choice: a store's events then stay in order), {@code unkeyed} (the worker needs no key), or
 * {@code alternate} (every other one). The key is read from the event's store_id with a regular
 * expression so that the example needs no JSON library.
 */
public final class PublishEvents {
  private static final Pattern STORE_ID = Pattern.compile("\"store_id\"\\s*:\\s*\"([^\"]+)\"");

  private PublishEvents() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: PublishEvents BOOTSTRAP TOPIC FILE.ndjson [keyed|unkeyed|alternate]");
      System.exit(2);
    }
    String mode = args.length > 3 ? args[3] : "keyed";
    List<String> lines = Files.readAllLines(Path.of(args[2]));
    AtomicReference<Exception> failure = new AtomicReference<>();
    long sent = 0;
    try (Producer<String, String> producer = new KafkaProducer<>(settings(args[0]))) {
      for (String line : lines) {
        if (line.isBlank()) {
          continue;
        }
        boolean keyed = mode.equals("keyed") || (mode.equals("alternate") && sent % 2 == 1);
        String key = keyed ? storeId(line) : null;
        producer.send(new ProducerRecord<>(args[1], key, line), (meta, error) -> {
          if (error != null) {
            failure.compareAndSet(null, error);
          }
        });
        sent++;
      }
      producer.flush();
    }
    if (failure.get() != null) {
      System.err.println("not acknowledged: " + failure.get());
      System.exit(1);
    }
    System.out.println("sent " + sent + " events");
  }

  private static Properties settings(String bootstrap) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    return props;
  }

  private static String storeId(String event) {
    Matcher match = STORE_ID.matcher(event);
    return match.find() ? match.group(1) : null;
  }
}
