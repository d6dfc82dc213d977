// cxx_growth.cc - std::vector, std::string and std::map growing in three known functions; each
// counts the allocations it causes (a vector or string allocates when its capacity changes, a
// map allocates one node per new key) and the program prints them:
// "fill_vector N", "grow_string N", "fill_map N". `mallog stats --by site` must attribute exactly
// those counts to those functions (the std:: frames between them and operator new are wrappers).
#include <cstdio>
#include <map>
#include <string>
#include <vector>

static volatile long sink;

__attribute__((noinline)) static unsigned fill_vector(int n)
{
    std::vector<long> v;
    unsigned allocs = 0;
    for (int i = 0; i < n; i++) {
        size_t cap = v.capacity();
        v.push_back(i);
        allocs += v.capacity() != cap;
    }
    sink = v.back();
    return allocs;
}

__attribute__((noinline)) static unsigned grow_string(int n)
{
    std::string s;
    unsigned allocs = 0;
    for (int i = 0; i < n; i++) {
        size_t cap = s.capacity();
        s += (char)('a' + i % 26);
        allocs += s.capacity() != cap;
    }
    sink = s.size();
    return allocs;
}

__attribute__((noinline)) static unsigned fill_map(int n)
{
    std::map<int, long> m;
    for (int i = 0; i < n; i++)
        m[(i * 7919) % n] = i; // n distinct keys: n nodes
    sink = (long)m.size();
    return (unsigned)m.size();
}

int main()
{
    unsigned v = fill_vector(5000), s = grow_string(3000), m = fill_map(700);
    std::printf("fill_vector %u\ngrow_string %u\nfill_map %u\n", v, s, m);
    return 0;
}
