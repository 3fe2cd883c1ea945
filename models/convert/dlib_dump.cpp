// Dumps dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1.dat), read with
// dlib's own deserialiser: the architecture as dlib prints it (stdout) and each computational
// layer's parameters (binary: int64 index, kind (0 = trainable params, 1 = affine gamma+beta),
// num_samples, k, nr, nc, then the floats). Used only by convert_dlib_resnet.py.
//
// The network type is the one in dlib's tools/python/src/face_recognition.cpp, which is what the
// .dat was trained as; deserialising into any other type fails.
#include <bits/stdc++.h>  // every standard header before the access hack below
// affine_ keeps its (batch-norm folded) gamma and beta in a private tensor and reports no
// trainable parameters; this read-only dump needs them.
#define private public
#include <dlib/dnn.h>
#undef private
using namespace dlib;

template <template <int,template<typename>class,int,typename> class block, int N, template<typename>class BN, typename SUBNET>
using residual = add_prev1<block<N,BN,1,tag1<SUBNET>>>;
template <template <int,template<typename>class,int,typename> class block, int N, template<typename>class BN, typename SUBNET>
using residual_down = add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,BN,2,tag1<SUBNET>>>>>>;
template <int N, template <typename> class BN, int stride, typename SUBNET>
using block  = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUBNET>>>>>;
template <int N, typename SUBNET> using ares      = relu<residual<block,N,affine,SUBNET>>;
template <int N, typename SUBNET> using ares_down = relu<residual_down<block,N,affine,SUBNET>>;
template <typename SUBNET> using alevel0 = ares_down<256,SUBNET>;
template <typename SUBNET> using alevel1 = ares<256,ares<256,ares_down<256,SUBNET>>>;
template <typename SUBNET> using alevel2 = ares<128,ares<128,ares_down<128,SUBNET>>>;
template <typename SUBNET> using alevel3 = ares<64,ares<64,ares<64,ares_down<64,SUBNET>>>>;
template <typename SUBNET> using alevel4 = ares<32,ares<32,ares<32,SUBNET>>>;
using anet_type = loss_metric<fc_no_bias<128,avg_pool_everything<
                            alevel0<alevel1<alevel2<alevel3<alevel4<
                            max_pool<3,3,2,2,relu<affine<con<32,7,7,2,2,
                            input_rgb_image_sized<150>>>>>>>>>>>>>;

int main(int argc, char** argv) {
    if (argc != 3) { std::cerr << "usage: dump MODEL.dat OUT.bin\n"; return 2; }
    anet_type net;
    deserialize(argv[1]) >> net;
    std::cout << net << "\n";
    std::ofstream out(argv[2], std::ios::binary);
    visit_computational_layers(net, [&](size_t idx, auto& l) {
        const tensor* t = nullptr;
        int64_t kind = 0;
        if constexpr (std::is_same_v<std::decay_t<decltype(l)>, affine_>) { t = &l.params; kind = 1; }
        else { t = &l.get_layer_params(); }
        if (t->size() == 0) return;
        int64_t hdr[6] = {(int64_t)idx, kind, t->num_samples(), t->k(), t->nr(), t->nc()};
        out.write((const char*)hdr, sizeof hdr);
        out.write((const char*)t->host(), sizeof(float) * t->size());
    });
    return 0;
}
