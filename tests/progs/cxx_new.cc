// cxx_new.cc - C++ allocation paths: aligned new/delete (libstdc++ turns them into
// aligned_alloc/free), sized delete, array new, and vector growth (realloc-free copying).
// Prints "ok N" with N = the number of aligned objects made.
#include <cstdio>
#include <new>
#include <vector>

struct alignas(64) Line {
    char bytes[64];
};

int main()
{
    const int n = 100;
    Line *lines[n];
    for (int i = 0; i < n; i++)
        lines[i] = new Line();
    for (int i = 0; i < n; i++)
        delete lines[i];
    void *raw = ::operator new(1000, std::align_val_t(256));
    ::operator delete(raw, std::align_val_t(256));
    int *arr = new int[1000];
    delete[] arr;
    std::vector<long> v;
    for (long i = 0; i < 100000; i++)
        v.push_back(i);
    std::printf("ok %d\n", n + 1);
    return 0;
}
