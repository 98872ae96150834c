// hnswlib compiled for this machine, as a peer of `ann-bench recall`: same files, same parameters, same measurement,
// rows of the same JSON schema (bench/README.md).
//
// Why it exists: Debian's python3-hnswlib is built for baseline x86-64, so its distance functions use SSE only (no
// AVX/AVX-512; `objdump -d` of the module shows no ymm/zmm register). Issue 7 compares us with hnswlib at its best,
// which is the header library compiled with -march=native, as pip does when it builds hnswlib from source.
//
//   apt-get install libhnswlib-dev        # the headers (0.6.2 on Debian 12)
//   g++ -O3 -march=native -std=c++17 -pthread -o /tmp/hnswlib-native bench/peers/hnswlib_native.cpp
//   /tmp/hnswlib-native --base base.fvecs --queries query.fvecs --ground-truth gt.ivecs --k 10 --m 16
//       --ef-construction 200 --ef 10,20,40,80,160,320 --build-threads 2 --runs 3 --json hnswlib.json
//       [--index hnswlib.bin]
//
// --index PATH: when PATH exists, the index is loaded from it (hnswlib's loadIndex) instead of built, and the row has
// no build_seconds (the round of a paired run that only searches; its M and efConstruction are the file's); when it
// does not exist, the index is built as usual and saved there. bench/run-fashion-mnist.sh builds once and loads in
// every round, so that only the builds run outside SCHED_FIFO.
//
// Memory, two figures in the row:
// - memory_bytes (and resident_bytes, the same figure under the name every system's resident growth has): what the
//   index adds to the process's resident memory, measured as ann-bench recall measures ours. Resident pages from
//   /proc/self/statm times the page size, read just before the HierarchicalNSW is made and again after the build or load
//   has finished, each time after malloc_trim(0) has handed the allocator's free memory back to the kernel (so freed
//   file-reading buffers neither hide nor add to the index). It counts what the saved file leaves out: a std::mutex per
//   element, the link-list pointer array, element levels, the label hash map and the visited-list pool.
// - index_file_bytes: the size of the index saved by saveIndex (the PATH of --index, else a temporary file), the figure
//   this row used to report as memory_bytes and the one Debian's Python bindings still give (bench/peers/hnswlib.py).
// - peak_resident_bytes: the most resident memory rose above the same starting reading during the build or load (VmHWM,
//   reset just before through /proc/self/clear_refs), temporaries included; absent where the kernel gives no peak.
//
// Measurement, as ann-bench recall does it: build over --build-threads threads (the first point alone, the rest in
// parallel, as hnswlib's own Python binding), search on one thread; per ef a warm-up over the first --warmup queries,
// then --runs timed passes, the fastest kept; every query timed on its own; recall@k tie-aware (a returned id counts
// when its float64 distance is within the largest float64 distance of the first k ground-truth ids, relative slack
// 1e-9); distance computations counted by wrapping the distance function in an untimed pass (see counting_distance).
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>
#include <malloc.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace {

constexpr double kRecallTolerance = 1e-9;

struct Matrix {
    size_t rows = 0, dim = 0;
    std::vector<float> data;
    const float* row(size_t i) const { return data.data() + i * dim; }
};

[[noreturn]] void fail(const std::string& message) {
    std::cerr << "hnswlib-native: error: " << message << "\n";
    std::exit(1);
}

// TEXMEX .fvecs / .ivecs: every row is an int32 dimension followed by that many 4-byte components.
template <typename T>
std::vector<std::vector<T>> read_vecs(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path + ": cannot open");
    std::vector<std::vector<T>> rows;
    int32_t dim = 0;
    while (in.read(reinterpret_cast<char*>(&dim), 4)) {
        if (dim < 0 || dim > (1 << 16)) fail(path + ": row " + std::to_string(rows.size()) + " has an impossible length");
        std::vector<T> row(static_cast<size_t>(dim));
        if (!in.read(reinterpret_cast<char*>(row.data()), 4L * dim)) fail(path + ": truncated row " + std::to_string(rows.size()));
        rows.push_back(std::move(row));
    }
    if (rows.empty()) fail(path + ": the file is empty");
    return rows;
}

Matrix read_fvecs(const std::string& path) {
    auto rows = read_vecs<float>(path);
    Matrix m;
    m.rows = rows.size();
    m.dim = rows[0].size();
    m.data.reserve(m.rows * m.dim);
    for (size_t i = 0; i < rows.size(); i++) {
        if (rows[i].size() != m.dim) fail(path + ": row " + std::to_string(i) + " has a different dimension");
        m.data.insert(m.data.end(), rows[i].begin(), rows[i].end());
    }
    return m;
}

double exact_l2(const float* a, const float* b, size_t dim) {
    double sum = 0;
    for (size_t i = 0; i < dim; i++) {
        double d = static_cast<double>(a[i]) - b[i];
        sum += d * d;
    }
    return sum;
}

// 1 - a.b on rows normalised by normalise_rows: cosine distance, as ann-bench's ExactDistance computes it.
double exact_cosine(const float* a, const float* b, size_t dim) {
    double dot = 0;
    for (size_t i = 0; i < dim; i++) dot += static_cast<double>(a[i]) * b[i];
    return 1.0 - dot;
}

// Cosine in hnswlib is inner product on unit vectors (its Python binding normalises the same way); a zero row stays zero.
void normalise_rows(Matrix& m) {
    for (size_t r = 0; r < m.rows; r++) {
        float* row = m.data.data() + r * m.dim;
        double norm = 0;
        for (size_t i = 0; i < m.dim; i++) norm += static_cast<double>(row[i]) * row[i];
        if (norm == 0) continue;
        const float scale = static_cast<float>(1.0 / std::sqrt(norm));
        for (size_t i = 0; i < m.dim; i++) row[i] *= scale;
    }
}

std::vector<int> parse_list(const std::string& text) {
    std::vector<int> values;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) {
        char* end = nullptr;
        long v = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || v <= 0) fail("--ef: '" + item + "' is not a positive integer");
        values.push_back(static_cast<int>(v));
    }
    if (values.empty()) fail("--ef needs at least one value");
    return values;
}

double percentile(std::vector<double> sorted, double p) {  // nearest rank, as HdrHistogram reports
    size_t rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(p / 100.0 * sorted.size())));
    return sorted[rank - 1];
}

// The model name, with the family and model numbers: a hypervisor may give every AMD host the same name ("AMD EPYC").
std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line, name, family, model;
    auto value_of = [](const std::string& l) {
        auto value = l.substr(l.find(':') + 1);
        value.erase(0, value.find_first_not_of(' '));
        return value;
    };
    while (std::getline(in, line) && !line.empty()) {
        if (line.rfind("model name", 0) == 0) name = value_of(line);
        else if (line.rfind("cpu family", 0) == 0) family = value_of(line);
        else if (line.rfind("model\t", 0) == 0) model = value_of(line);
    }
    if (name.empty()) return "unknown";
    return family.empty() ? name : name + " (family " + family + ", model " + model + ")";
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

// hnswlib's own metric_distance_computations adds the size of every neighbour list it opens, visited neighbours
// included, so it over-counts. For the figure issue 7 compares (distances actually computed per query), one extra,
// untimed pass runs with the index's distance function swapped for this counting wrapper.
hnswlib::DISTFUNC<float> g_real_distance = nullptr;
size_t g_distances_computed = 0;
float counting_distance(const void* a, const void* b, const void* param) {
    ++g_distances_computed;
    return g_real_distance(a, b, param);
}

// Resident set size now, after the allocator has returned what it holds free: the baseline and the end of the memory
// figure. statm's second field is resident pages (file-backed and anonymous, transparent huge pages included).
long long settled_resident_bytes() {
    malloc_trim(0);
    std::ifstream statm("/proc/self/statm");
    long long total_pages = 0, resident_pages = 0;
    if (!(statm >> total_pages >> resident_pages)) fail("cannot read /proc/self/statm");
    return resident_pages * sysconf(_SC_PAGESIZE);
}

// Starts a new peak: the kernel's resident high-water mark (VmHWM) is set to what is resident now (Linux 4.0 and later),
// as ann-bench does around its own builds and loads. False where it cannot be done.
bool reset_peak_resident() {
    std::ofstream clear_refs("/proc/self/clear_refs");
    return static_cast<bool>(clear_refs << "5" << std::flush);
}

// The most that has been resident since reset_peak_resident, or -1.
long long peak_resident_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
    return -1;
}

long long file_bytes(const std::string& path) {
    struct stat info {};
    if (stat(path.c_str(), &info) != 0) fail(path + ": cannot stat the saved index");
    return static_cast<long long>(info.st_size);
}

struct Point {
    int ef;
    double recall, qps, mean_us, p50_us, p99_us, distance_computations, neighbours_examined;
};

}  // namespace

int main(int argc, char** argv) {
    std::map<std::string, std::string> args = {
        {"--k", "10"}, {"--m", "16"}, {"--ef-construction", "200"}, {"--ef", "10,20,40,80,160,320"},
        {"--build-threads", std::to_string(std::max(1u, std::thread::hardware_concurrency()))},
        {"--runs", "1"}, {"--warmup", "1000"}, {"--seed", "100"}, {"--dataset", ""}, {"--metric", "l2"}};
    std::string command = "hnswlib-native";
    for (int i = 1; i < argc; i++) command += std::string(" ") + argv[i];
    for (int i = 1; i < argc; i += 2) {
        std::string key = argv[i];
        if (key == "--help" || key == "-h") {
            std::cout << "usage: hnswlib-native --base F --queries F --ground-truth F --json F [--k 10] [--m 16]\n"
                         "  [--ef-construction 200] [--ef 10,20,...] [--build-threads N] [--runs 1] [--warmup 1000] [--dataset NAME]\n"
                         "  [--metric l2|cosine]\n"
                         "  [--index PATH]   load the index from PATH if it exists, else build it and save it there\n";
            return 0;
        }
        if (i + 1 >= argc) fail(key + " needs a value");
        args[key] = argv[i + 1];
    }
    for (const char* required : {"--base", "--queries", "--ground-truth", "--json"})
        if (!args.count(required)) fail(std::string(required) + " is required");
    const int k = std::stoi(args["--k"]), m = std::stoi(args["--m"]), ef_construction = std::stoi(args["--ef-construction"]);
    const int build_threads = std::stoi(args["--build-threads"]), runs = std::stoi(args["--runs"]);
    const std::vector<int> efs = parse_list(args["--ef"]);
    if (k <= 0 || m < 2 || ef_construction <= 0 || build_threads <= 0 || runs <= 0) fail("--k, --ef-construction, --build-threads, --runs must be positive and --m at least 2");

    const std::string metric = args["--metric"];
    if (metric != "l2" && metric != "cosine") fail("--metric must be l2 or cosine, got '" + metric + "'");
    const bool cosine = metric == "cosine";
    Matrix base = read_fvecs(args["--base"]);
    Matrix queries = read_fvecs(args["--queries"]);
    if (cosine) {
        normalise_rows(base);
        normalise_rows(queries);
    }
    auto exact_distance = cosine ? exact_cosine : exact_l2;
    const auto truth = read_vecs<int32_t>(args["--ground-truth"]);
    if (base.dim != queries.dim) fail("--queries and --base have different dimensions");
    if (truth.size() < queries.rows) fail("--ground-truth has fewer rows than there are queries");
    const size_t nq = queries.rows, dim = base.dim;
    const size_t warmup = std::min<size_t>(std::stoul(args["--warmup"]), nq);

    // Tie-aware thresholds: the largest exact distance among the first k true neighbours.
    std::vector<double> thresholds(nq);
    for (size_t q = 0; q < nq; q++) {
        double max = -1;
        for (int j = 0; j < std::min<int>(k, truth[q].size()); j++) {
            int id = truth[q][j];
            if (id < 0 || static_cast<size_t>(id) >= base.rows) fail("--ground-truth names point " + std::to_string(id) + ", outside the base");
            max = std::max(max, exact_distance(queries.row(q), base.row(id), dim));
        }
        thresholds[q] = max;
    }

    std::unique_ptr<hnswlib::SpaceInterface<float>> space_owner;
    if (cosine) space_owner = std::make_unique<hnswlib::InnerProductSpace>(dim);
    else space_owner = std::make_unique<hnswlib::L2Space>(dim);
    hnswlib::SpaceInterface<float>& space = *space_owner;
    const std::string index_path = args.count("--index") ? args["--index"] : "";
    struct stat existing {};
    const bool load = !index_path.empty() && stat(index_path.c_str(), &existing) == 0;
    const long long resident_before = settled_resident_bytes();
    const bool peak_reset = reset_peak_resident();
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> loaded_or_built;
    double build_seconds = -1, load_seconds = -1;
    if (load) {
        auto load_start = std::chrono::steady_clock::now();
        try {
            loaded_or_built = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space, index_path);
        } catch (const std::exception& e) {
            fail(index_path + ": cannot load the index (" + e.what() + ")");
        }
        load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
        if (loaded_or_built->cur_element_count != base.rows)
            fail(index_path + " holds " + std::to_string(loaded_or_built->cur_element_count) + " points but --base has " +
                 std::to_string(base.rows) + "; remove it to build again");
        std::cerr << "hnswlib-native: loaded " << base.rows << " points from " << index_path << " in " << load_seconds << " s\n";
    } else {
        loaded_or_built = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space, base.rows, m, ef_construction, std::stoul(args["--seed"]));
        auto& building = *loaded_or_built;
        auto build_start = std::chrono::steady_clock::now();
        building.addPoint(base.row(0), 0);
        {
            std::atomic<size_t> next{1};
            std::vector<std::thread> workers;
            for (int t = 0; t < build_threads; t++)
                workers.emplace_back([&] {
                    for (size_t i = next++; i < base.rows; i = next++) building.addPoint(base.row(i), i);
                });
            for (auto& w : workers) w.join();
        }
        build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();
        std::cerr << "hnswlib-native: built " << base.rows << " points in " << build_seconds << " s\n";
    }
    hnswlib::HierarchicalNSW<float>& index = *loaded_or_built;
    const long long peak_bytes = peak_reset ? peak_resident_bytes() - resident_before : -1;
    const long long resident_bytes = settled_resident_bytes() - resident_before;
    // The index's own M and efConstruction: a loaded file keeps those it was built with, whatever --m says.
    const size_t index_m = index.M_, index_ef_construction = index.ef_construction_;

    long long index_file_bytes;
    if (load) {
        index_file_bytes = file_bytes(index_path);
    } else if (!index_path.empty()) {
        index.saveIndex(index_path);
        index_file_bytes = file_bytes(index_path);
        std::cerr << "hnswlib-native: saved the index to " << index_path << "\n";
    } else {
        char temp_path[] = "/tmp/hnswlib-native-XXXXXX";
        int fd = mkstemp(temp_path);
        if (fd < 0) fail("cannot create a temporary file");
        close(fd);
        index.saveIndex(temp_path);
        index_file_bytes = file_bytes(temp_path);
        std::remove(temp_path);
    }
    std::cerr << "hnswlib-native: resident growth " << resident_bytes << " bytes (" << static_cast<double>(resident_bytes) / base.rows
              << " per point), index file " << index_file_bytes << " bytes\n";

    std::vector<Point> points;
    std::vector<int64_t> ids(nq * k);
    std::vector<int> counts(nq);
    std::vector<double> latencies(nq), best_latencies;
    for (int ef : efs) {
        index.setEf(ef);
        for (size_t q = 0; q < warmup; q++) index.searchKnn(queries.row(q), k);
        index.metric_distance_computations = 0;
        double best_seconds = 1e300;
        for (int run = 0; run < runs; run++) {
            auto pass_start = std::chrono::steady_clock::now();
            for (size_t q = 0; q < nq; q++) {
                auto t0 = std::chrono::steady_clock::now();
                auto result = index.searchKnn(queries.row(q), k);
                auto t1 = std::chrono::steady_clock::now();
                latencies[q] = std::chrono::duration<double, std::micro>(t1 - t0).count();
                counts[q] = static_cast<int>(result.size());
                for (int i = counts[q] - 1; i >= 0; i--) {  // the queue pops farthest first
                    ids[q * k + i] = static_cast<int64_t>(result.top().second);
                    result.pop();
                }
            }
            double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - pass_start).count();
            if (seconds < best_seconds) {
                best_seconds = seconds;
                best_latencies = latencies;
            }
        }
        double neighbours_examined = static_cast<double>(index.metric_distance_computations.load()) / (static_cast<double>(nq) * runs);
        g_real_distance = index.fstdistfunc_;
        g_distances_computed = 0;
        index.fstdistfunc_ = counting_distance;
        for (size_t q = 0; q < nq; q++) index.searchKnn(queries.row(q), k);
        index.fstdistfunc_ = g_real_distance;
        double distance_computations = static_cast<double>(g_distances_computed) / nq;

        double recall_sum = 0;
        for (size_t q = 0; q < nq; q++) {
            std::unordered_set<int64_t> seen;
            double limit = thresholds[q] + std::abs(thresholds[q]) * kRecallTolerance;
            for (int i = 0; i < counts[q]; i++) {
                int64_t id = ids[q * k + i];
                if (seen.count(id)) continue;
                if (exact_distance(queries.row(q), base.row(id), dim) <= limit) seen.insert(id);
            }
            int denominator = std::min<int>(k, truth[q].size());
            recall_sum += denominator == 0 ? 1.0 : std::min<double>(seen.size(), denominator) / denominator;
        }
        std::vector<double> sorted = best_latencies;
        std::sort(sorted.begin(), sorted.end());
        double mean = 0;
        for (double v : sorted) mean += v;
        mean /= sorted.size();
        Point p{ef, recall_sum / nq, nq / best_seconds, mean, percentile(sorted, 50), percentile(sorted, 99), distance_computations,
                neighbours_examined};
        std::cerr << "hnswlib-native: ef=" << ef << " recall=" << p.recall << " qps=" << p.qps << " dist/query=" << distance_computations
                  << " neighbours examined/query=" << neighbours_examined << "\n";
        points.push_back(p);
    }

    std::string dataset = args["--dataset"];
    if (dataset.empty()) {
        std::string b = args["--base"];
        auto slash = b.find_last_of('/');
        std::string folder = slash == std::string::npos ? "." : b.substr(0, slash);
        auto s2 = folder.find_last_of('/');
        dataset = s2 == std::string::npos ? folder : folder.substr(s2 + 1);
    }
    char created[32];
    std::time_t now = std::time(nullptr);
    std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    struct utsname uts {};
    uname(&uts);

    std::ofstream out(args["--json"]);
    if (!out) fail(args["--json"] + ": cannot write");
    out.precision(10);
    out << "{\n  \"dataset\": \"" << json_escape(dataset) << "\",\n  \"k\": " << k << ",\n  \"metric\": \"" << metric << "\",\n"
        << "  \"base_count\": " << base.rows << ",\n  \"query_count\": " << nq << ",\n"
        << "  \"created_utc\": \"" << created << "\",\n  \"command\": \"" << json_escape(command) << "\",\n"
        << "  \"machine\": {\"cpu\": \"" << json_escape(cpu_model()) << "\", \"cores\": " << std::thread::hardware_concurrency()
        << ", \"os\": \"" << uts.sysname << " " << uts.release << "\", \"runtime\": \"g++ " << __VERSION__ << "\""
#if defined(__AVX512F__)
        << ", \"simd\": \"AVX-512\""
#elif defined(__AVX__)
        << ", \"simd\": \"AVX\""
#else
        << ", \"simd\": \"SSE\""
#endif
        << "},\n  \"rows\": [{\n    \"system\": \"hnswlib\",\n"
        << "    \"params\": {\"m\": " << index_m << ", \"ef_construction\": " << index_ef_construction;
    if (load) {
        std::string file = index_path.substr(index_path.find_last_of('/') == std::string::npos ? 0 : index_path.find_last_of('/') + 1);
        out << ", \"index\": \"" << json_escape(file) << "\", \"index_load_seconds\": " << std::round(load_seconds * 1000) / 1000;
    } else {
        out << ", \"build_threads\": " << build_threads;
    }
    out << ", \"search_threads\": 1, \"warmup\": " << warmup << ", \"runs\": " << runs
        << ", \"version\": \"0.6.2 (Debian libhnswlib-dev headers)\", \"variant\": \"C++ -O3 -march=native\", \"recall\": \"tie-aware\"},\n";
    if (!load) out << "    \"build_seconds\": " << build_seconds << ",\n";
    out << "    \"memory_bytes\": " << resident_bytes << ",\n    \"resident_bytes\": " << resident_bytes
        << ",\n    \"index_file_bytes\": " << index_file_bytes << ",\n";
    if (peak_bytes >= 0) out << "    \"peak_resident_bytes\": " << peak_bytes << ",\n";
    out << "    \"points\": [";
    for (size_t i = 0; i < points.size(); i++) {
        const Point& p = points[i];
        out << (i ? ",\n" : "\n") << "      {\"ef\": " << p.ef << ", \"recall\": " << p.recall << ", \"qps\": " << p.qps
            << ", \"mean_us\": " << p.mean_us << ", \"p50_us\": " << p.p50_us << ", \"p99_us\": " << p.p99_us
            << ", \"distance_computations\": " << p.distance_computations << ", \"neighbours_examined\": " << p.neighbours_examined << "}";
    }
    out << "\n    ]\n  }]\n}\n";
    std::cerr << "hnswlib-native: wrote " << args["--json"] << "\n";
    return 0;
}
