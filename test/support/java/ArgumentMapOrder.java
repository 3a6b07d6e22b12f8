// Prints the iteration order of script argument names as midPoint's connector sees
// them: midPoint fills a new HashMap in the resource's argument order
// (ConnectorInstanceConnIdImpl.convertToScriptContext), and ConnId's ScriptContext
// clones it through its serializer, which writes the entries in forEach order and
// reads them back into a new HashMap with put.
//
// Input: one name set per line; each name is its UTF-16 code units in hex (4 digits
// each), names separated by single spaces. Output: the same format, in map order.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

public final class ArgumentMapOrder {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        PrintStream out = new PrintStream(System.out, false, "US-ASCII");
        String line;
        while ((line = in.readLine()) != null) {
            Map<String, Object> midpointMap = new HashMap<>();
            if (!line.isEmpty()) {
                for (String hex : line.split(" ")) midpointMap.put(decode(hex), "value");
            }
            Map<Object, Object> connIdCopy = new HashMap<>();
            midpointMap.forEach(connIdCopy::put);
            StringBuilder sb = new StringBuilder();
            for (Object key : connIdCopy.keySet()) {
                if (sb.length() > 0) sb.append(' ');
                sb.append(encode((String) key));
            }
            out.println(sb);
        }
        out.flush();
    }

    private static String decode(String hex) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < hex.length(); i += 4) sb.append((char) Integer.parseInt(hex.substring(i, i + 4), 16));
        return sb.toString();
    }

    private static String encode(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) sb.append(String.format("%04x", (int) s.charAt(i)));
        return sb.toString();
    }
}
